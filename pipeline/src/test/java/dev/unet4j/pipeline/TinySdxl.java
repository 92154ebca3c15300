package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
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
import dev.unet4j.vae.AutoencoderKL;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tiny SDXL folder made for tests (the two fixture text encoders, 32 and 16 wide, the second with a 24-dim
 * projection; a seeded text_time UNet with cross_attention_dim 48; sd-pipeline-tiny's VAE; Euler), and a loop written
 * from diffusers' SDXL __call__ to check pipelines against: both encoders' hidden_states[-2] concatenated,
 * text_encoder_2's text_embeds pooled, the given add_time_ids, zeros for an absent negative prompt.
 */
final class TinySdxl {
    private TinySdxl() {
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, to.resolve(f.getFileName()));
        }
    }

    /**
     * Makes the folder in {@code dir}: {@code className} in model_index.json; with {@code aesthetics} the folder sets
     * requires_aesthetics_score and the UNet's add_embedding takes 5 time ids (8 * 5 + 24 = 64 inputs), else 6 (72).
     */
    static Path make(Path dir, String className, boolean aesthetics) throws IOException {
        Path tiny = Fixture.pipeline();
        Path pipe = Files.createDirectories(dir.resolve("sdxl-tiny"));
        copy(tiny.resolve("tokenizer"), pipe.resolve("tokenizer"));
        copy(tiny.resolve("tokenizer"), pipe.resolve("tokenizer_2"));
        copy(Fixtures.fixture("clip-tokenizer/pad-exclamation"), dir.resolve("pad"));
        for (String f : new String[] {"special_tokens_map.json", "tokenizer_config.json"}) {
            Files.copy(dir.resolve("pad").resolve(f), pipe.resolve("tokenizer_2").resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        copy(tiny.resolve("text_encoder"), pipe.resolve("text_encoder"));
        copy(Fixtures.fixture("clip-text-encoder-tiny/with-projection"), pipe.resolve("text_encoder_2"));
        copy(tiny.resolve("vae"), pipe.resolve("vae"));
        Files.createDirectories(pipe.resolve("scheduler"));
        Files.writeString(pipe.resolve("scheduler/scheduler_config.json"), """
                {"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                 "beta_end": 0.012, "num_train_timesteps": 1000, "steps_offset": 1, "timestep_spacing": "leading",
                 "prediction_type": "epsilon"}""");
        String unetConfig = Files.readString(tiny.resolve("unet/config.json"))
                .replaceFirst("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 48")
                .replaceFirst("\"addition_embed_type\": null", "\"addition_embed_type\": \"text_time\"")
                .replaceFirst("\"addition_time_embed_dim\": null", "\"addition_time_embed_dim\": 8")
                .replaceFirst("\"projection_class_embeddings_input_dim\": null", "\"projection_class_embeddings_input_dim\": " + (aesthetics ? 64 : 72));
        SeededUNet.write(unetConfig, 77, pipe.resolve("unet"));
        Files.writeString(pipe.resolve("model_index.json"), """
                {"_class_name": "%s", "force_zeros_for_empty_prompt": true, "requires_aesthetics_score": %s,
                 "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                 "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"]}""".formatted(className, aesthetics));
        return pipe;
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

    /**
     * diffusers' StableDiffusionXL[Img2Img]Pipeline.__call__ with EulerDiscreteScheduler, one image, 64x64:
     * text-to-image when {@code initPixels} ({@code [1, 3, 64, 64]} in [-1, 1]) is null; else img2img with
     * {@code strength}: the schedule cut at {@code t_start = steps - int(steps * strength)}, the image latents sampled
     * with the seed's generator, then {@code init + noise * sigma[t_start]} with its next draw; the given add_time_ids.
     */
    static float[] reference(Path pipe, String prompt, String negative, int steps, long seed, double g, float[] initPixels,
                             double strength, float[] posIds, float[] negIds) throws IOException {
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
        float[] ids = new float[2 * posIds.length];
        System.arraycopy(negIds, 0, ids, 0, negIds.length);
        System.arraycopy(posIds, 0, ids, negIds.length, posIds.length);
        EulerSampler euler = EulerSampler.fromConfig(SchedulerConfig.load(pipe.resolve("scheduler/scheduler_config.json")));
        DiscreteSchedule s = euler.schedule(steps);
        int start = initPixels == null ? 0 : steps - Math.min((int) (steps * strength), steps);
        TorchGenerator gen = new TorchGenerator(seed);
        float[] initLatents = null;
        if (initPixels != null) {
            // prepare_latents: scaling_factor * vae.encode(image).latent_dist.sample(generator), then the noise draw
            try (AutoencoderKL vae = AutoencoderKL.load(pipe.resolve("vae"), new ReferenceKernels());
                 Tensor px = Tensor.of(initPixels, 1, 3, 64, 64); Tensor z = vae.encodeLatents(px, gen)) {
                initLatents = z.toFloatArray();
                for (int i = 0; i < initLatents.length; i++) initLatents[i] *= (float) vae.scalingFactor();
            }
        }
        float[] x = gen.randn(1 * 4 * 8 * 8);
        for (int i = 0; i < x.length; i++) x[i] = initLatents == null ? x[i] * s.initNoiseSigma() : initLatents[i] + x[i] * s.sigmas()[start];
        try (UNetModel unet = UNetModel.load(pipe.resolve("unet"), LoadOptions.of(new ReferenceKernels()));
             UNetSession session = unet.newSession();
             Tensor e = Tensor.of(ehs, 2, 77, 48); Tensor te = Tensor.of(pooled, 2, 24); Tensor ti = Tensor.of(ids, 2, posIds.length)) {
            for (int i = start; i < s.length(); i++) {
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

}
