package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.samplers.guidance.TextConditioning;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** encode_prompt of sd-pipeline-tiny: the ids and embeddings diffusers fed its UNet, for prompt and negative prompt. */
class PromptEncoderTest {

    private static void check(PromptEncoder enc, String cas, String prompt, String negative) throws IOException {
        Fixture fx = Fixture.of(cas);
        long[] ids0 = fx.ids.get("text_encoder_input_ids.0");
        long[] ids1 = fx.ids.get("text_encoder_input_ids.1");
        assertArrayEquals(ids0, toLong(enc.tokenize(prompt).inputIds()), cas + " prompt ids");
        assertArrayEquals(ids1, toLong(enc.tokenize(negative).inputIds()), cas + " negative prompt ids");
        TextConditioning p = enc.encode(prompt, 0);
        TextConditioning n = enc.encode(negative, 0);
        double ep = Fixture.assertClose(cas + " prompt_embeds", fx.get("prompt_embeds"), p.data(), p.shape(), 1e-4);
        double en = Fixture.assertClose(cas + " negative_prompt_embeds", fx.get("negative_prompt_embeds"), n.data(), n.shape(), 1e-4);
        System.out.printf("%s: prompt_embeds %.2e, negative_prompt_embeds %.2e%n", cas, ep, en);
    }

    @Test
    void idsAndEmbeddingsOfTheStoredCases() throws IOException {
        try (PromptEncoder enc = PromptEncoder.load(Fixture.pipeline(), new dev.unet4j.core.kernels.dnnl.DnnlKernels());
             PromptEncoder ref = PromptEncoder.load(Fixture.pipeline(), new ReferenceKernels())) {
            for (PromptEncoder e : new PromptEncoder[] {enc, ref}) {
                check(e, "a_ddim", "a photo of an astronaut riding a horse on mars", "blurry, low quality");
                check(e, "c_img2img", "an oil painting of a lighthouse at dusk", "photo, ugly");
            }
        }
    }

    /**
     * clip_skip 1 = final_layer_norm(hidden_states[-2]), checked against clip-text-encoder-tiny's stored hidden states
     * of the same text encoder (model "sd") put through a layer norm written here from the checkpoint's weights.
     */
    @Test
    void clipSkipIsThePenultimateLayerThroughTheFinalLayerNorm() throws IOException {
        java.nio.file.Path dir = dev.unet4j.core.testing.Fixtures.fixture("clip-text-encoder-tiny");
        try (PromptEncoder enc = PromptEncoder.load(Fixture.pipeline(), new ReferenceKernels());
             dev.unet4j.core.io.SafetensorsFile in = dev.unet4j.core.io.SafetensorsFile.open(dir.resolve("inputs.safetensors"));
             dev.unet4j.core.io.SafetensorsFile out = dev.unet4j.core.io.SafetensorsFile.open(dir.resolve("outputs.safetensors"));
             dev.unet4j.core.io.SafetensorsFile w = dev.unet4j.core.io.SafetensorsFile.open(Fixture.pipeline().resolve("text_encoder/model.safetensors"));
             dev.unet4j.core.tensor.Tensor h2 = out.load("sd.hidden_states.2");
             dev.unet4j.core.tensor.Tensor g = w.load("text_model.final_layer_norm.weight");
             dev.unet4j.core.tensor.Tensor b = w.load("text_model.final_layer_norm.bias")) {
            long[] all = in.readLongs("input_ids"); // [8, 77]
            int[] ids = new int[77];
            for (int i = 0; i < 77; i++) ids[i] = (int) all[i];
            float[] h = h2.toFloatArray(), gamma = g.toFloatArray(), beta = b.toFloatArray();
            int d = gamma.length;
            float[] expected = new float[77 * d];
            for (int t = 0; t < 77; t++) {
                double mean = 0, var = 0;
                for (int c = 0; c < d; c++) mean += h[t * d + c];
                mean /= d;
                for (int c = 0; c < d; c++) var += (h[t * d + c] - mean) * (h[t * d + c] - mean);
                var /= d;
                for (int c = 0; c < d; c++) {
                    expected[t * d + c] = (float) ((h[t * d + c] - mean) / Math.sqrt(var + 1e-5) * gamma[c] + beta[c]);
                }
            }
            TextConditioning skip = enc.encodeIds(ids, 1);
            double e = Fixture.assertClose("clip_skip 1", new dev.unet4j.samplers.Latents(expected, new int[] {1, 77, d}),
                    skip.data(), skip.shape(), 1e-4);
            System.out.printf("clip_skip 1 vs layer-normed hidden_states[-2]: %.2e%n", e);
            assertThrows(IllegalArgumentException.class, () -> enc.encode("a horse", 3));
            assertThrows(IllegalArgumentException.class, () -> enc.encode("a horse", -1));
        }
    }

    private static long[] toLong(int[] v) {
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) out[i] = v[i];
        return out;
    }
}
