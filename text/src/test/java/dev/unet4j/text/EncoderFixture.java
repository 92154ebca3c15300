package dev.unet4j.text;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code clip-text-encoder-tiny} fixture: its inputs, goldens and model folders, and the comparison rule. */
final class EncoderFixture {
    /** README: every stored tensor within 1e-4 of max|x|. */
    static final double TOLERANCE = 1e-4;

    static Path dir() {
        return Fixtures.fixture("clip-text-encoder-tiny");
    }

    /** Model {@code sd} lives in the SD pipeline fixture, {@code proj} next to the goldens. */
    static Path modelDir(String model) {
        return model.equals("sd") ? Fixtures.fixture("sd-pipeline-tiny").resolve("text_encoder") : dir().resolve("with-projection");
    }

    static Kernels kernels(String backend) {
        return backend.equals("reference") ? new ReferenceKernels() : new DnnlKernels();
    }

    static int[][] ints(SafetensorsFile f, String name) throws IOException {
        long[] shape = f.info(name).shape();
        long[] v = f.readLongs(name);
        int rows = (int) shape[0], cols = (int) shape[1];
        int[][] out = new int[rows][cols];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out[i][j] = Math.toIntExact(v[i * cols + j]);
        return out;
    }

    static double assertClose(String what, SafetensorsFile goldens, String name, Tensor got) throws IOException {
        try (Tensor want = goldens.load(name)) {
            double err = Closeness.relError(want, got);
            System.out.printf("%-48s rel err %.3g%n", what + " " + name, err);
            assertTrue(err <= TOLERANCE, what + " " + name + ": relative error " + err + " > " + TOLERANCE);
            return err;
        }
    }

    private EncoderFixture() {
    }
}
