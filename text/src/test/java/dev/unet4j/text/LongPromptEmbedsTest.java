package dev.unet4j.text;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ClipTextModel#encodeChunks}: windows encoded one by one, A1111's emphasis, concatenated. */
class LongPromptEmbedsTest {

    @Test
    void windowsAreEncodedWeightedAndJoined() throws Exception {
        Path pipe = Fixtures.fixture("sd-pipeline-tiny");
        ClipTokenizer tok = ClipTokenizer.load(pipe.resolve("tokenizer"));
        String prompt = "(masterpiece:1.3), a [quiet] harbour at dawn, " + "small boats, gulls, ".repeat(20) + "((golden light))";
        ClipChunks chunks = tok.encodeWeighted(prompt);
        assertTrue(chunks.count() >= 2, "a long prompt: " + chunks.count());
        try (ClipTextModel m = ClipTextModel.load(pipe.resolve("text_encoder"), new ReferenceKernels());
             Tensor plain = m.encodeChunks(chunks, false);
             Tensor weighted = m.encodeChunks(chunks, true)) {
            int n = chunks.count(), t = 77, c = 32;
            assertArrayEquals(new long[]{1, (long) n * t, c}, weighted.shape());
            float[] p = plain.toFloatArray(), w = weighted.toFloatArray();
            for (int i = 0; i < n; i++) {
                float[] row;
                try (ClipTextOutput o = m.encode(new int[][]{chunks.inputIds()[i]}, null, false)) {
                    row = o.lastHiddenState().toFloatArray();
                }
                assertArrayEquals(row, Arrays.copyOfRange(p, i * t * c, (i + 1) * t * c), "window " + i + " unweighted");
                // A1111 EmphasisOriginal: z * w, then z * (mean(z) / mean(z * w))
                double before = 0, after = 0;
                for (int j = 0; j < t * c; j++) {
                    before += row[j];
                    after += (double) row[j] * chunks.weights()[i][j / c];
                }
                double worst = 0, max = 0;
                for (int j = 0; j < t * c; j++) {
                    double want = row[j] * chunks.weights()[i][j / c] * (before / after);
                    worst = Math.max(worst, Math.abs(want - w[i * t * c + j]));
                    max = Math.max(max, Math.abs(want));
                }
                assertTrue(worst / max < 1e-5, "window " + i + " emphasis error " + worst / max);
            }
            // the emphasis did something: masterpiece (1.3) and quiet (1/1.1) rows changed relative to the rest
            float[] w0 = chunks.weights()[0];
            assertEquals(1.3f, w0[1], 1e-6f);
            assertTrue(Arrays.stream(toDoubles(w0)).anyMatch(x -> Math.abs(x - 1 / 1.1) < 1e-6));
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
