package dev.unet4j.zoo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One zoo fixture (official PyTorch run): inputs, stored outputs and hooks, meta.json. Close it. */
final class ZooFixture implements AutoCloseable {
    static final String UNETPP = "unetpp-tiny", MKUNET = "mkunet-tiny", DDOS = "ddos-unet-tiny";
    /** The fixtures' tolerance: max|diff| <= 1e-4 max|ref| for every tensor. */
    static final double TOLERANCE = 1e-4;

    final Path dir;
    final Map<String, Tensor> inputs, outputs;
    final JsonNode meta;

    ZooFixture(String name) throws IOException {
        dir = Fixtures.fixture(name);
        inputs = read(dir.resolve("inputs.safetensors"));
        outputs = read(dir.resolve("outputs.safetensors"));
        meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
    }

    static Map<String, Tensor> read(Path p) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String n : f.names()) m.put(n, f.load(n, Allocator.direct()));
        }
        return m;
    }

    ZooModel<?> load(Kernels k) throws IOException {
        return ZooModel.load(dir, LoadOptions.of(k));
    }

    /** The worst relative error of {@link #checkStored} and the names of the call's outputs, in order. */
    record Checked(double worst, List<String> outputNames) {
    }

    /**
     * One call on {@code inputs[input]} with every stored tensor captured: each stored tensor that {@code checked}
     * accepts (there must be {@code expected} of them) is compared with the output of its name or else the capture of
     * its name ({@link #assertClose}); the worst relative error is printed under {@code label} and returned.
     */
    Checked checkStored(String label, ZooSession s, String input, Predicate<String> checked, int expected) {
        double worst = 0;
        String worstName = null;
        s.capture(outputs.keySet());
        Map<String, Tensor> out = s.forward(inputs.get(input));
        try {
            int count = 0;
            for (var e : outputs.entrySet()) {
                if (!checked.test(e.getKey())) continue;
                Tensor actual = out.containsKey(e.getKey()) ? out.get(e.getKey()) : s.captured(e.getKey());
                assertNotNull(actual, label + ": no output or capture " + e.getKey());
                double rel = assertClose(label + " " + e.getKey(), e.getValue(), actual);
                if (worstName == null || rel > worst) {
                    worst = rel;
                    worstName = e.getKey();
                }
                count++;
            }
            assertEquals(expected, count, label + ": stored tensors checked");
            System.out.printf("%s: worst relative error over %d tensors %.3g (%s)%n", label, count, worst, worstName);
            return new Checked(worst, List.copyOf(out.keySet()));
        } finally {
            out.values().forEach(Tensor::close);
        }
    }

    /** max|ref - actual| / max|ref|, after checking shapes; fails above the tolerance. Returns the relative error. */
    static double assertClose(String what, Tensor ref, Tensor actual) {
        assertArrayEquals(ref.shape(), actual.shape(), what + ": shape");
        double rel = relativeError(ref, actual);
        assertTrue(rel <= TOLERANCE, what + ": max|diff| / max|ref| = " + rel + " > " + TOLERANCE);
        return rel;
    }

    static double relativeError(Tensor ref, Tensor actual) {
        float[] r = ref.toFloatArray(), a = actual.toFloatArray();
        double maxRef = 0, maxDiff = 0;
        for (int i = 0; i < r.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(r[i]));
            double d = Math.abs((double) r[i] - a[i]);
            if (!(d <= maxDiff)) maxDiff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    @Override
    public void close() {
        inputs.values().forEach(Tensor::close);
        outputs.values().forEach(Tensor::close);
    }
}
