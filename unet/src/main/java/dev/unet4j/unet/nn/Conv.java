package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;

/** A prepared convolution that counts its MACs into the pass. */
public final class Conv implements AutoCloseable {
    private final Conv2d layer;
    private final Conv2dSpec spec;

    Conv(Conv2d layer, Conv2dSpec spec) {
        this.layer = layer;
        this.spec = spec;
    }

    public Conv2dSpec spec() {
        return spec;
    }

    public Tensor forward(Pass p, Tensor x) {
        return forward(p, x, null, 1f);
    }

    /** {@code (conv(x) + bias + residual) * outputScale}. */
    public Tensor forward(Pass p, Tensor x, Tensor residual, float outputScale) {
        p.addMacs(spec.macs(x.dim(0), x.dim(2), x.dim(3)));
        return layer.forward(p.ws, x, residual, outputScale);
    }

    @Override
    public void close() {
        layer.close();
    }
}
