package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * torch's {@code InstanceNorm2d/3d} (statistics of each sample and channel, as a GroupNorm with one channel per
 * group) and eval-mode {@code BatchNorm1d/2d/3d} (running statistics), each with optional affine parameters.
 */
public final class Norm {
    /** Which torch norm. */
    public enum Kind { INSTANCE, BATCH }

    private final Kind kind;
    private final int channels;
    private final float eps;
    private final Tensor gamma, beta, mean, variance; // gamma/beta null without affine; mean/variance only for BATCH

    private Norm(Kind kind, int channels, float eps, Tensor gamma, Tensor beta, Tensor mean, Tensor variance) {
        this.kind = kind;
        this.channels = channels;
        this.eps = eps;
        this.gamma = gamma;
        this.beta = beta;
        this.mean = mean;
        this.variance = variance;
    }

    /**
     * The norm stored at {@code vb}: {@code weight}, {@code bias} when {@code affine}; a BatchNorm also
     * {@code running_mean}, {@code running_var} (its {@code num_batches_tracked} counter is training state, not read).
     */
    public static Norm at(VarBuilder vb, Kind kind, int channels, double eps, boolean affine) {
        Tensor g = affine ? vb.kept("weight", channels) : null, b = affine ? vb.kept("bias", channels) : null;
        Tensor m = kind == Kind.BATCH ? vb.kept("running_mean", channels) : null;
        Tensor v = kind == Kind.BATCH ? vb.kept("running_var", channels) : null;
        return new Norm(kind, channels, (float) eps, g, b, m, v);
    }

    public Kind kind() {
        return kind;
    }

    public Tensor forward(Pass p, Tensor x) {
        if (kind == Kind.BATCH) return p.k.batchNorm(p.ws, x, mean, variance, gamma, beta, eps);
        return p.k.groupNorm(p.ws, x, channels, gamma, beta, eps, false);
    }
}
