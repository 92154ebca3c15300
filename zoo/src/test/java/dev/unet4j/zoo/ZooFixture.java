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
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    ZooModel load(Kernels k) throws IOException {
        return ZooModel.load(dir, LoadOptions.of(k));
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
