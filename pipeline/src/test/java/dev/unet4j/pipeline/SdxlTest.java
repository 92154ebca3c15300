package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.TorchGenerator;
import dev.unet4j.samplers.kdiffusion.DiscreteSchedule;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.text.ClipTokenizer;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

/**
 * StableDiffusionXLPipeline text-to-image on a tiny SDXL folder ({@link TinySdxl}: the two fixture text encoders,
 * 32 and 16 wide, the second with a 24-dim projection; a seeded text_time UNet with cross_attention_dim 48;
 * sd-pipeline-tiny's VAE; Euler), against a loop written here from diffusers' __call__: both encoders' hidden_states[-2] concatenated,
 * text_encoder_2's text_embeds pooled, add_time_ids [h, w, 0, 0, h, w], zeros for an absent negative prompt.
 */
class SdxlTest {
    @TempDir
    static Path dir;
    static Path pipe;

    @BeforeAll
    static void makePipeline() throws IOException {
        pipe = TinySdxl.make(dir);
    }

    /** hidden_states[-2] [77, D] and the pooled output of one encoder, straight from the text module. */
    private static float[][] encode(Path p, String tok, String enc, String prompt) throws IOException {
        ClipTokenizer t = ClipTokenizer.load(p.resolve(tok));
        try (ClipTextModel m = ClipTextModel.load(p.resolve(enc), new ReferenceKernels());
             ClipTextOutput o = m.encode(new int[][] {t.encode(prompt).inputIds()}, null, true)) {
            Tensor pooled = o.textEmbeds() != null ? o.textEmbeds() : o.pooledOutput();
            return new float[][] {o.hiddenState(-2).toFloatArray(), pooled.toFloatArray()};
        }
    }

    private static float[] cat(float[] a, int da, float[] b, int db) {
        float[] out = new float[77 * (da + db)];
        for (int i = 0; i < 77; i++) {
            System.arraycopy(a, i * da, out, i * (da + db), da);
            System.arraycopy(b, i * db, out, i * (da + db) + da, db);
        }
        return out;
    }

    /** diffusers' StableDiffusionXLPipeline.__call__ with EulerDiscreteScheduler, one image, 64x64. */
    private static float[] reference(String prompt, String negative, int steps, long seed, double g) throws IOException {
        float[][] p1 = encode(pipe, "tokenizer", "text_encoder", prompt), p2 = encode(pipe, "tokenizer_2", "text_encoder_2", prompt);
        float[] pos = cat(p1[0], 32, p2[0], 16), posPooled = p2[1];
        float[] neg, negPooled;
        if (negative == null) {
            neg = new float[pos.length];
            negPooled = new float[posPooled.length];
        } else {
            float[][] n1 = encode(pipe, "tokenizer", "text_encoder", negative), n2 = encode(pipe, "tokenizer_2", "text_encoder_2", negative);
            neg = cat(n1[0], 32, n2[0], 16);
            negPooled = n2[1];
        }
        float[] ehs = new float[2 * pos.length];
        System.arraycopy(neg, 0, ehs, 0, neg.length);
        System.arraycopy(pos, 0, ehs, neg.length, pos.length);
        float[] pooled = new float[48];
        System.arraycopy(negPooled, 0, pooled, 0, 24);
        System.arraycopy(posPooled, 0, pooled, 24, 24);
        float[] ids = {64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64};
        EulerSampler euler = EulerSampler.fromConfig(SchedulerConfig.load(pipe.resolve("scheduler/scheduler_config.json")));
        DiscreteSchedule s = euler.schedule(steps);
        float[] x = new TorchGenerator(seed).randn(1, 4, 8, 8).data();
        for (int i = 0; i < x.length; i++) x[i] *= s.initNoiseSigma();
        try (UNetModel unet = UNetModel.load(pipe.resolve("unet"), LoadOptions.of(new ReferenceKernels()));
             UNetSession session = unet.newSession();
             Tensor e = Tensor.of(ehs, 2, 77, 48); Tensor te = Tensor.of(pooled, 2, 24); Tensor ti = Tensor.of(ids, 2, 6)) {
            for (int i = 0; i < s.length(); i++) {
                float sigma = s.sigmas()[i];
                float c = (float) Math.sqrt(sigma * sigma + 1f);
                float[] in = new float[2 * x.length];
                for (int k = 0; k < x.length; k++) in[k] = in[k + x.length] = x[k] / c;
                float[] out;
                try (Tensor sample = Tensor.of(in, 2, 4, 8, 8);
                     Tensor o = session.forward(UNetInputs.builder(sample, Timestep.float64(s.timesteps()[i])).encoderHiddenStates(e)
                             .addedCond(te, ti).build())) {
                    out = o.toFloatArray();
                }
                float dt = s.sigmas()[i + 1] - sigma;
                for (int k = 0; k < x.length; k++) {
                    float eps = out[k] + (float) g * (out[k + x.length] - out[k]);
                    float x0 = x[k] - sigma * eps;
                    x[k] = x[k] + (x[k] - x0) / sigma * dt;
                }
            }
        }
        return x;
    }

    @Test
    void textToImageAsDiffusersWithAndWithoutNegativePrompt() throws IOException {
        try (StableDiffusion sd = StableDiffusion.load(pipe, PipelineOptions.defaults().withKernels(new ReferenceKernels()))) {
            assertEqualsName("euler", sd.samplerName(TextToImage.of("x")));
            for (String negative : new String[] {null, "blurry"}) {
                GeneratedImages out = sd.generate(TextToImage.of("a photo of a cat").negativePrompt(negative).size(64, 64)
                        .steps(4).guidance(5).seed(3));
                float[] expected = reference("a photo of a cat", negative, 4, 3, 5);
                double e = Fixture.assertClose("SDXL latents (negative " + negative + ")", new Latents(expected, new int[] {1, 4, 8, 8}),
                        out.latents().data(), out.latents().shape(), 1e-4);
                System.out.printf("SDXL tiny, negative %s: final latents %.2e relative%n", negative, e);
            }
            PromptEmbeddings pe = sd.encodePrompt(TextToImage.of("a cat"));
            org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {1, 77, 48}, pe.prompt().shape());
            org.junit.jupiter.api.Assertions.assertEquals(24, pe.pooled().length);
        }
    }

    private static void assertEqualsName(String expected, String actual) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual);
    }
}
