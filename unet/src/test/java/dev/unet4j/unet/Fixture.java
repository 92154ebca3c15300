package dev.unet4j.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One golden UNet case: its folder, inputs, stored outputs and meta.json. Tensors are standalone; close the fixture. */
final class Fixture implements AutoCloseable {
    static final String DDPM = "unet2d-ddpm-tiny";
    static final String SD = "unet2d-cond-sd-tiny";

    final String name;
    final Path dir;
    final Map<String, Tensor> inputs;
    final Map<String, Tensor> outputs;
    final JsonNode meta;

    Fixture(String name) throws IOException {
        this.name = name;
        this.dir = Fixtures.fixture(name);
        this.inputs = read(dir.resolve("inputs.safetensors"));
        this.outputs = read(dir.resolve("outputs.safetensors"));
        this.meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
    }

    private static Map<String, Tensor> read(Path p) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String n : f.names()) {
                if (f.info(n).dtype().isFloatingPoint()) m.put(n, f.load(n, Allocator.direct()));
                else {
                    long[] v = f.readLongs(n);
                    float[] fl = new float[v.length];
                    for (int i = 0; i < v.length; i++) fl[i] = v[i];
                    m.put(n, Tensor.of(fl, f.info(n).shape()));
                }
            }
        }
        return m;
    }

    UNetModel load(Kernels k) throws IOException {
        return UNetModel.load(dir, LoadOptions.of(k));
    }

    /** The call the fixture was made with: timestep as the float32 tensor it was. */
    UNetInputs inputs() {
        float[] t = inputs.get("timestep").toFloatArray();
        return UNetInputs.builder(inputs.get("sample"), Timestep.float32(t))
                .encoderHiddenStates(inputs.get("encoder_hidden_states"))
                .classLabels(inputs.get("class_labels"))
                .build();
    }

    /** Stored name of an output ({@code output_aliases} maps duplicates to the stored tensor). */
    Map<String, String> allOutputNames() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String n : outputs.keySet()) m.put(n, n);
        meta.get("output_aliases").fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
        return m;
    }

    /** max|a-b| <= 1e-4 (1 + max|ref|), the fixtures' tolerance for one UNet call. */
    static void assertClose(String what, Tensor ref, Tensor actual) {
        assertArrayEquals(ref.shape(), actual.shape(), what + ": shape");
        double maxRef = Closeness.maxAbs(ref.toFloatArray()), maxDiff = Closeness.maxAbsDiff(ref, actual);
        double tol = 1e-4 * (1 + maxRef);
        assertTrue(maxDiff <= tol, what + ": max|diff| " + maxDiff + " > " + tol + " (max|ref| " + maxRef + ")");
    }

    @Override
    public void close() {
        inputs.values().forEach(Tensor::close);
        outputs.values().forEach(Tensor::close);
    }
}
