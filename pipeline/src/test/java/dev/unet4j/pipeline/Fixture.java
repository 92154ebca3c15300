package dev.unet4j.pipeline;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.guidance.TextConditioning;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A case of sd-pipeline-tiny: its stored tensors on the heap, and the fixtures' relative tolerance check. */
final class Fixture {
    final Map<String, Latents> tensors = new LinkedHashMap<>();
    final Map<String, long[]> ids = new LinkedHashMap<>();

    static Path pipeline() {
        return Fixtures.fixture("sd-pipeline-tiny");
    }

    static Fixture of(String cas) throws IOException {
        Fixture fx = new Fixture();
        try (SafetensorsFile f = SafetensorsFile.open(pipeline().resolve("cases").resolve(cas).resolve("outputs.safetensors"))) {
            for (String n : f.names()) {
                if (f.info(n).dtype().isFloatingPoint()) {
                    try (Tensor t = f.load(n)) {
                        long[] s = t.shape();
                        int[] shape = new int[Math.max(1, s.length)];
                        if (s.length == 0) shape[0] = 1;
                        for (int i = 0; i < s.length; i++) shape[i] = (int) s[i];
                        fx.tensors.put(n, new Latents(t.toFloatArray(), shape));
                    }
                } else {
                    fx.ids.put(n, f.readLongs(n));
                }
            }
        }
        return fx;
    }

    Latents get(String name) {
        Latents l = tensors.get(name);
        if (l == null) throw new IllegalArgumentException("no tensor " + name + " in the fixture");
        return l;
    }

    TextConditioning text(String name) {
        Latents l = get(name);
        return new TextConditioning(l.data(), l.shape());
    }

    /** max|expected - actual| / max|expected|, asserted &lt;= tol; returns it. */
    static double assertClose(String what, Latents expected, float[] actual, int[] shape, double tol) {
        assertArrayEquals(expected.shape(), shape, what + " shape");
        double rel = Closeness.relError(expected.data(), actual);
        assertTrue(rel <= tol, what + ": max|diff| / max|x| = " + rel + " > " + tol);
        return rel;
    }
}
