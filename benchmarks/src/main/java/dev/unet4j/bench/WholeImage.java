package dev.unet4j.bench;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.vae.AutoencoderKL;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * One whole text-to-image generation on the SD 1.5 parts, timed part by part: the prompt batch through the text
 * encoder, {@code steps} DDIM steps with classifier-free guidance 7.5 (batch 2: {@code [uncond; cond]}) under a cache
 * policy, and the VAE decode of the final latents (unscaled by {@code scaling_factor}), as diffusers'
 * {@code StableDiffusionPipeline} runs them.
 */
final class WholeImage {
    static final double GUIDANCE = 7.5;
    /** SD 1.5's {@code scheduler_config.json} as DDIM reads it. */
    static final String SCHEDULER = """
            {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
             "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false,
             "steps_offset": 1, "num_train_timesteps": 1000, "prediction_type": "epsilon"}""";

    /** Seconds of each part, and the decoded image {@code [1, 3, 8l, 8l]} values. */
    record Times(double text, double denoise, double decode, float[] image) {
        double total() {
            return text + denoise + decode;
        }
    }

    private WholeImage() {
    }

    /**
     * @param setup   applied to the UNet session before sampling (a quantized model's weight precision)
     * @param latent  latent side (64 for 512x512)
     */
    static Times run(ClipTextModel textEncoder, UNetModel unet, Consumer<UNetSession> setup, CachePolicy policy,
                     AutoencoderKL vae, int latent, int steps) {
        long t0 = System.nanoTime();
        float[] embeds;
        try (ClipTextOutput out = textEncoder.encode(Sd15Parts.promptIds(), null, false)) {
            embeds = out.lastHiddenState().toFloatArray();                          // [2, 77, 768]: uncond, cond
        }
        int half = embeds.length / 2;
        int[] shape = {1, 77, 768};
        TextConditioning uncond = new TextConditioning(Arrays.copyOfRange(embeds, 0, half), shape);
        TextConditioning cond = new TextConditioning(Arrays.copyOfRange(embeds, half, embeds.length), shape);
        long t1 = System.nanoTime();
        CachingTable.Run run = denoise(unet, setup, policy, uncond, cond, latent, steps);
        long t2 = System.nanoTime();
        float[] image;
        try (Tensor z = Tensor.of(run.sample().data(), 1, 4, latent, latent); Tensor unscaled = vae.unscaleLatents(z);
             Tensor decoded = vae.decode(unscaled)) {
            image = decoded.toFloatArray();
        }
        long t3 = System.nanoTime();
        return new Times((t1 - t0) / 1e9, run.nanos() / 1e9, (t3 - t2) / 1e9, image);
    }

    /** The sampling loop alone, in a new session of {@code unet}. */
    static CachingTable.Run denoise(UNetModel unet, Consumer<UNetSession> setup, CachePolicy policy, TextConditioning uncond,
                                    TextConditioning cond, int latent, int steps) {
        try (UNetSession session = unet.newSession()) {
            setup.accept(session);
            CachingTable.Setup s = new CachingTable.Setup("SD 1.5", unet, DdimSampler.fromConfig(SchedulerConfig.parse(SCHEDULER)), steps,
                    new int[]{1, 4, latent, latent}, new long[]{5}, uncond, cond, GUIDANCE, CachingTable.LATENTS);
            return CachingTable.generate(s, session, policy, steps);
        }
    }

    /** Two steps on zero prompt embeddings: every call shape of {@code policy}'s first steps gets its primitives. */
    static void warmUp(UNetModel unet, Consumer<UNetSession> setup, CachePolicy policy, int latent) {
        TextConditioning zeros = new TextConditioning(new float[77 * 768], new int[]{1, 77, 768});
        denoise(unet, setup, policy, zeros, zeros, latent, 2);
    }

    /** PSNR of {@code got} against {@code ref} with the peak-to-peak range of {@code ref}; infinite when equal. */
    static double psnr(float[] ref, float[] got) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, se = 0;
        for (int i = 0; i < ref.length; i++) {
            min = Math.min(min, ref[i]);
            max = Math.max(max, ref[i]);
            double d = ref[i] - got[i];
            se += d * d;
        }
        return se == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10((max - min) * (max - min) / (se / ref.length));
    }
}
