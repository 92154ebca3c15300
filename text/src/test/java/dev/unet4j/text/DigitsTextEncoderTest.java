package dev.unet4j.text;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The really trained encoder of {@code models/digits-text-32} loads and runs from its pipeline folder; oneDNN agrees
 * with the reference backend, and the prompt changes the embedding.
 */
class DigitsTextEncoderTest {

    @Test
    void loadsAndRunsOnBothBackends() throws Exception {
        Path model = Fixtures.model("digits-text-32");
        ClipTokenizer tokenizer = ClipTokenizer.load(model.resolve("tokenizer"));
        int[][] ids = {tokenizer.encode("a handwritten seven").inputIds(), tokenizer.encode("the number 3, bold, slanted left").inputIds(),
                tokenizer.encode("").inputIds()};
        try (ClipTextModel ref = ClipTextModel.load(model.resolve("text_encoder"), new ReferenceKernels());
             ClipTextModel dnnl = ClipTextModel.load(model.resolve("text_encoder"), new DnnlKernels());
             ClipTextOutput r = ref.encode(ids);
             ClipTextOutput d = dnnl.encode(ids)) {
            assertEquals(3_234_112, ref.parameters(), "parameters (README)");
            assertArrayEquals(new long[]{3, 77, 64}, r.lastHiddenState().shape());
            assertEquals(3, r.hiddenStates().size());
            float[] v = r.lastHiddenState().toFloatArray();
            for (float x : v) assertTrue(Float.isFinite(x));
            double err = Closeness.relError(r.lastHiddenState(), d.lastHiddenState());
            System.out.printf("digits-text-32 oneDNN vs reference last_hidden_state rel err %.3g%n", err);
            assertTrue(err <= EncoderFixture.TOLERANCE, "oneDNN vs reference " + err);
            assertTrue(Closeness.relError(r.pooledOutput(), d.pooledOutput()) <= EncoderFixture.TOLERANCE);
            // different prompts, different conditioning (rows 0 and 1 differ after the BOS position)
            float diff = 0;
            for (int i = 64; i < 77 * 64; i++) diff = Math.max(diff, Math.abs(v[i] - v[77 * 64 + i]));
            assertTrue(diff > 1e-2, "prompts give different embeddings: " + diff);
        }
    }
}
