package dev.unet4j.vae;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.List;

/**
 * diffusers {@code DiagonalGaussianDistribution}, the VAE posterior: the encoder's moments split into {@code mean}
 * and {@code logvar} (channels {@code [0, L)} and {@code [L, 2L)}), logvar clamped to [-30, 20],
 * {@code std = exp(0.5 * logvar)}. Owns its two standalone tensors {@code [B, L, h, w]}; immutable apart from
 * {@link #close}.
 */
public final class LatentDistribution implements AutoCloseable {
    private final Tensor mean, logvar;
    private final long[] shape;

    /** From the moments {@code [B, 2L, h, w]} (borrowed). */
    static LatentDistribution ofMoments(Tensor moments) {
        long l = moments.dim(1) / 2;
        Tensor mean = moments.narrow(1, 0, l).copy(Allocator.direct());   // [B, L, h, w]
        Tensor logvar = moments.narrow(1, l, l).copy(Allocator.direct()); // [B, L, h, w]
        float[] lv = logvar.toFloatArray();
        for (int i = 0; i < lv.length; i++) lv[i] = Math.max(-30f, Math.min(20f, lv[i]));
        logvar.setFrom(lv);
        return new LatentDistribution(mean, logvar);
    }

    private LatentDistribution(Tensor mean, Tensor logvar) {
        this.mean = mean;
        this.logvar = logvar;
        this.shape = mean.shape();
    }

    /** The posterior mean {@code [B, L, h, w]} (owned by this distribution; do not close). */
    public Tensor mean() {
        return mean;
    }

    /** The clamped log-variance {@code [B, L, h, w]} (owned by this distribution; do not close). */
    public Tensor logvar() {
        return logvar;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** {@code exp(0.5 * logvar)} as a new standalone tensor. */
    public Tensor std() {
        float[] lv = logvar.toFloatArray();
        for (int i = 0; i < lv.length; i++) lv[i] = (float) Math.exp(0.5f * lv[i]);
        return Tensor.of(lv, shape);
    }

    /** {@code latent_dist.mode()}: a standalone copy of the mean. */
    public Tensor mode() {
        return mean.copy(Allocator.direct());
    }

    /**
     * {@code latent_dist.sample(generator)}: {@code mean + std * randn(mean.shape, generator)}, the noise drawn as one
     * tensor of the whole shape, as diffusers' {@code randn_tensor} does with one CPU generator. Advances {@code g}.
     */
    public Tensor sample(TorchGenerator g) {
        return withNoise(g.randn(Math.toIntExact(mean.numel())));
    }

    /**
     * {@code latent_dist.sample([g_0, ..., g_{B-1}])}: one generator per batch item, each drawing a {@code [1, L, h, w]}
     * tensor (diffusers' {@code randn_tensor} with a list of generators).
     */
    public Tensor sample(List<TorchGenerator> generators) {
        int b = (int) shape[0];
        if (generators.size() != b) {
            throw new IllegalArgumentException("sample: " + generators.size() + " generators for a batch of " + b);
        }
        int item = Math.toIntExact(mean.numel() / b);
        float[] noise = new float[item * b];
        for (int i = 0; i < b; i++) System.arraycopy(generators.get(i).randn(item), 0, noise, i * item, item);
        return withNoise(noise);
    }

    /** {@code mean + std * noise} (float32 steps as torch takes them), {@code noise} row-major. */
    private Tensor withNoise(float[] noise) {
        float[] m = mean.toFloatArray(), lv = logvar.toFloatArray();
        float[] x = new float[m.length];
        for (int i = 0; i < m.length; i++) {
            float std = (float) Math.exp(0.5f * lv[i]);
            x[i] = m[i] + std * noise[i];
        }
        return Tensor.of(x, shape);
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
    }
}
