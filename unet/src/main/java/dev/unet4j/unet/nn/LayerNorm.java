package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NormInfo;

/** {@code nn.LayerNorm} over the last dimension (affine). */
public final class LayerNorm {
    private final Tensor gamma, beta;
    private final NormInfo info;

    LayerNorm(String path, int channels, double eps, Tensor gamma, Tensor beta) {
        this.gamma = gamma;
        this.beta = beta;
        this.info = new NormInfo(path, "LayerNorm", 0, channels, eps);
    }

    public NormInfo info() {
        return info;
    }

    public Tensor forward(Pass p, Tensor x) {
        return p.k.layerNorm(p.ws, x, gamma, beta, (float) info.eps());
    }
}
