package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;

/** A prepared linear layer over the last dimension that counts its MACs into the pass. */
public final class Dense implements AutoCloseable {
    private final Linear layer;

    Dense(Linear layer) {
        this.layer = layer;
    }

    public int in() {
        return layer.inFeatures();
    }

    public int out() {
        return layer.outFeatures();
    }

    public Tensor forward(Pass p, Tensor x) {
        return forward(p, x, null, 1f);
    }

    /** {@code (x W^T + b + residual) * outputScale}. */
    public Tensor forward(Pass p, Tensor x, Tensor residual, float outputScale) {
        p.addMacs(x.numel() / x.dim(-1) * layer.inFeatures() * layer.outFeatures());
        return layer.forward(p.ws, x, residual, outputScale);
    }

    @Override
    public void close() {
        layer.close();
    }
}
