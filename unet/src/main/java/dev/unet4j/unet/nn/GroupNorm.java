package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NormInfo;

/** {@code nn.GroupNorm} (affine); gamma/beta kept as small tensors owned by the model. */
public final class GroupNorm {
    private final Tensor gamma, beta;
    private final NormInfo info;

    GroupNorm(String path, int groups, int channels, double eps, Tensor gamma, Tensor beta) {
        if (channels % groups != 0) {
            throw new dev.unet4j.unet.UnsupportedConfigException(path + ": " + channels + " channels are not divisible into " + groups + " groups");
        }
        this.gamma = gamma;
        this.beta = beta;
        this.info = new NormInfo(path, "GroupNorm", groups, channels, eps);
    }

    public NormInfo info() {
        return info;
    }

    /** GroupNorm, then SiLU when {@code silu}. */
    public Tensor forward(Pass p, Tensor x, boolean silu) {
        return p.k.groupNorm(p.ws, x, info.groups(), gamma, beta, (float) info.eps(), silu);
    }

    /** GroupNorm followed by {@code act} (fused for SiLU). */
    public Tensor forward(Pass p, Tensor x, Activation act) {
        if (act == Activation.SILU) return forward(p, x, true);
        Tensor n = forward(p, x, false);
        try {
            return act.apply(p, n);
        } finally {
            n.close();
        }
    }
}
