package dev.unet4j.samplers.guidance;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;

/**
 * Builds the {@link Denoiser} a sampler calls from a {@link DiffusionModel} and its conditioning. Classifier-free
 * guidance evaluates uncond and cond through {@link DiffusionModel#forwardGuided} (by default ONE batched call on
 * {@code [x, x]} with {@code cat([uncond, cond])}), then splits and combines as diffusers' StableDiffusionPipeline,
 * in float32.
 */
public final class Guidance {
    private Guidance() {
    }

    /** No conditioning input (unconditional models such as DDPM). */
    public static Denoiser unconditional(DiffusionModel model) {
        return (x, call) -> model.forward(x, call, new NoConditioning(x.batch()));
    }

    /** A single conditioned call per evaluation, no guidance. */
    public static Denoiser conditioned(DiffusionModel model, Conditioning cond) {
        return (x, call) -> {
            checkBatch(cond, x, "conditioning");
            return model.forward(x, call, cond);
        };
    }

    /**
     * Classifier-free guidance: {@code u + scale (c - u)}, then diffusers' {@code rescale_noise_cfg} when
     * {@code rescale > 0}. As diffusers, a scale &lt;= 1 disables guidance (one conditioned call).
     */
    public static Denoiser classifierFree(DiffusionModel model, Conditioning uncond, Conditioning cond, double scale,
                                          double rescale) {
        if (uncond.batchSize() != cond.batchSize()) {
            throw new IllegalArgumentException("uncond has " + uncond.batchSize() + " items, cond " + cond.batchSize());
        }
        if (!(rescale >= 0 && rescale <= 1)) throw new IllegalArgumentException("guidance_rescale must be in [0, 1], got " + rescale);
        if (scale <= 1) return conditioned(model, cond);
        return (x, call) -> {
            checkBatch(cond, x, "conditioning");
            Latents out = model.forwardGuided(x, call, uncond, cond);
            int b = x.batch();
            if (out.batch() != 2 * b) throw new IllegalStateException("guided call returned batch " + out.batch() + ", expected " + 2 * b);
            Latents guided = combine(out.slice(0, b), out.slice(b, 2 * b), scale);
            return rescale > 0 ? rescale(guided, out.slice(b, 2 * b), rescale) : guided;
        };
    }

    /** Class-conditional guidance with a null (unconditional) class label. */
    public static Denoiser classConditional(DiffusionModel model, long[] labels, long nullClass, double scale) {
        return classifierFree(model, ClassConditioning.repeat(nullClass, labels.length), new ClassConditioning(labels),
                scale, 0);
    }

    /** {@code noise_pred_uncond + scale * (noise_pred_text - noise_pred_uncond)} in float32. */
    public static Latents combine(Latents uncond, Latents cond, double scale) {
        uncond.requireSameShape(cond, "conditional prediction");
        float s = (float) scale;
        float[] u = uncond.data();
        float[] c = cond.data();
        float[] out = new float[u.length];
        for (int i = 0; i < u.length; i++) out[i] = u[i] + s * (c[i] - u[i]);
        return uncond.withData(out);
    }

    /**
     * diffusers' {@code rescale_noise_cfg} ("Common Diffusion Noise Schedules and Sample Steps are Flawed", 3.4):
     * per item, rescale the guided prediction to the conditional one's standard deviation (unbiased), then mix
     * {@code phi * rescaled + (1 - phi) * guided}.
     */
    public static Latents rescale(Latents guided, Latents cond, double phi) {
        int item = guided.itemSize();
        float[] g = guided.data();
        float[] c = cond.data();
        float[] out = new float[g.length];
        float p = (float) phi;
        for (int b = 0; b < guided.batch(); b++) {
            int off = b * item;
            float ratio = (float) (std(c, off, item) / std(g, off, item));
            for (int i = off; i < off + item; i++) {
                float rescaled = g[i] * ratio;
                out[i] = p * rescaled + (1 - p) * g[i];
            }
        }
        return guided.withData(out);
    }

    private static double std(float[] v, int off, int n) {
        double mean = 0;
        for (int i = off; i < off + n; i++) mean += v[i];
        mean /= n;
        double ss = 0;
        for (int i = off; i < off + n; i++) ss += (v[i] - mean) * (v[i] - mean);
        return (float) Math.sqrt(ss / (n - 1));
    }

    private static void checkBatch(Conditioning cond, Latents x, String what) {
        if (cond.batchSize() != x.batch()) {
            throw new IllegalArgumentException(what + " has " + cond.batchSize() + " items for a batch of " + x.batch());
        }
    }
}
