package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.text.ClipTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long prompts (75-token windows) and A1111 emphasis through the pipeline's prompt encoding, on sd-pipeline-tiny,
 * against a loop written here over the tokenizer and the text model: the ids cut into 75s, each window
 * {@code [bos] + 75 + [eos/pad]} encoded on its own, the outputs concatenated.
 */
class PromptSyntaxTest {
    static final String LONG_PROMPT = "a quiet harbour at dawn, " + "small boats and gulls over the water, ".repeat(20) + "golden light";
    static ClipTokenizer tok;
    static ClipTextModel model;
    static PromptEncoder encoder;
    static StableDiffusion sd;

    @BeforeAll
    static void load() throws IOException {
        Path pipe = Fixture.pipeline();
        tok = ClipTokenizer.load(pipe.resolve("tokenizer"));
        model = ClipTextModel.load(pipe.resolve("text_encoder"), new ReferenceKernels());
        encoder = PromptEncoder.load(pipe, new ReferenceKernels());
        sd = StableDiffusion.load(pipe, PipelineOptions.defaults().withKernels(new ReferenceKernels()));
    }

    @AfterAll
    static void close() {
        if (encoder != null) encoder.close();
        if (model != null) model.close();
        if (sd != null) sd.close();
    }

    /** The windows of {@code ids}, each row encoded alone ({@code clipSkip} 0: last_hidden_state, 1: final_layer_norm(hidden_states[-2])). */
    static float[] reference(int[] ids, int clipSkip) {
        int windows = Math.max(1, (ids.length + 74) / 75);
        float[] out = new float[0];
        for (int w = 0; w < windows; w++) {
            int[] row = new int[77];
            Arrays.fill(row, tok.padTokenId());
            row[0] = tok.bosTokenId();
            int n = Math.min(75, ids.length - w * 75);
            System.arraycopy(ids, w * 75, row, 1, n);
            row[n + 1] = tok.eosTokenId();
            float[] z;
            try (ClipTextOutput o = model.encode(new int[][] {row}, null, true)) {
                if (clipSkip == 0) {
                    z = o.lastHiddenState().toFloatArray();
                } else {
                    try (Tensor normed = model.finalLayerNorm(o.hiddenState(-(clipSkip + 1)))) {
                        z = normed.toFloatArray();
                    }
                }
            }
            float[] joined = Arrays.copyOf(out, out.length + z.length);
            System.arraycopy(z, 0, joined, out.length, z.length);
            out = joined;
        }
        return out;
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + " length");
        double max = 0, diff = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs((double) want[i] - got[i]));
        }
        assertTrue(diff / max <= 1e-6, what + ": max|diff|/max|x| = " + diff / max);
    }

    @Test
    void longPromptsAreWindowsEncodedAloneAndConcatenated() {
        int[] ids = tok.tokenIds(LONG_PROMPT);
        assertTrue(ids.length > 150 && ids.length <= 225, "three windows: " + ids.length);
        for (int clipSkip : new int[] {0, 1}) {
            TextConditioning c = encoder.encode(LONG_PROMPT, clipSkip, null, PromptSyntax.LONG);
            assertArrayEquals(new int[] {1, 3 * 77, 32}, c.shape());
            assertClose(reference(ids, clipSkip), c.data(), "clip_skip " + clipSkip);
        }
        // truncation (the default) is the first window alone
        TextConditioning plain = encoder.encode(LONG_PROMPT, 0);
        assertArrayEquals(new int[] {1, 77, 32}, plain.shape());
        assertClose(Arrays.copyOf(reference(ids, 0), 77 * 32), plain.data(), "truncated");
    }

    /** A1111's emphasis on one window: the token rows times their weights, then the window times mean before / after. */
    @Test
    void weightsScaleTokenRowsAndKeepTheMean() {
        // "a (cat:1.5) [dog]": a</w> 1.0, cat</w> 1.5, dog</w> 1/1.1
        float[] z = reference(tok.tokenIds("a cat dog"), 0);
        float[] w = new float[77];
        Arrays.fill(w, 1f);
        w[2] = 1.5f;
        w[3] = (float) (1 / 1.1);
        double before = 0, after = 0;
        for (int i = 0; i < z.length; i++) {
            before += z[i];
            after += z[i] * w[i / 32];
        }
        float[] want = new float[z.length];
        for (int i = 0; i < z.length; i++) want[i] = (float) (z[i] * w[i / 32] * (before / after));
        assertClose(want, encoder.encode("a (cat:1.5) [dog]", 0, null, PromptSyntax.WEIGHTED).data(), "weighted");
    }

    /** Weights that are all 1 (and a short prompt, one window) give the plain run's latents exactly. */
    @Test
    void weightsOfOneEqualThePlainRun() {
        TextToImage plain = TextToImage.of("a red apple on a table").size(32, 32).steps(3).scheduler("ddim").seed(5).guidance(3);
        GeneratedImages a = sd.generate(plain);
        GeneratedImages b = sd.generate(plain.promptSyntax(PromptSyntax.WEIGHTED));
        GeneratedImages c = sd.generate(plain.promptSyntax(PromptSyntax.LONG));
        GeneratedImages d = sd.generate(TextToImage.of("(a red:1.0) apple (on a table:1)").size(32, 32).steps(3).scheduler("ddim")
                .seed(5).guidance(3).promptSyntax(PromptSyntax.WEIGHTED));
        assertArrayEquals(a.latents().data(), b.latents().data());
        assertArrayEquals(a.latents().data(), c.latents().data());
        assertArrayEquals(a.latents().data(), d.latents().data());
    }

    /** The shorter of prompt and negative prompt is padded with windows of the empty prompt's embeddings. */
    @Test
    void negativePromptIsPaddedToThePromptsWindows() {
        TextToImage r = TextToImage.of(LONG_PROMPT).negativePrompt("blurry").guidance(4).promptSyntax(PromptSyntax.LONG);
        PromptEmbeddings e = sd.encodePrompt(r);
        assertArrayEquals(new int[] {1, 3 * 77, 32}, e.prompt().shape());
        float[] neg = reference(tok.tokenIds("blurry"), 0), empty = reference(new int[0], 0);
        float[] want = new float[3 * 77 * 32];
        System.arraycopy(neg, 0, want, 0, neg.length);
        System.arraycopy(empty, 0, want, neg.length, empty.length);
        System.arraycopy(empty, 0, want, neg.length + empty.length, empty.length);
        assertClose(want, e.negative().data(), "negative");
        // and the other way round: a long negative prompt pads the prompt
        PromptEmbeddings f = sd.encodePrompt(TextToImage.of("blurry").negativePrompt(LONG_PROMPT).guidance(4).promptSyntax(PromptSyntax.LONG));
        assertClose(want, f.prompt().data(), "prompt");
        assertClose(reference(tok.tokenIds(LONG_PROMPT), 0), f.negative().data(), "long negative");
    }
}
