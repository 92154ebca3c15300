package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerAdapter;

/**
 * A prepared convolution that counts its MACs into the pass; a session's {@link LayerAdapter} may replace it or add a
 * side path (LoRA).
 */
public final class Conv implements AutoCloseable {
    private final String path;
    private final Conv2d layer;
    private final Conv2dSpec spec;

    Conv(String path, Conv2d layer, Conv2dSpec spec) {
        this.path = path;
        this.layer = layer;
        this.spec = spec;
    }

    /** The diffusers module path ({@code down_blocks.0.resnets.1.conv1}). */
    public String path() {
        return path;
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
        return AdaptedLayer.forward(p, layer, x, residual, outputScale,
                a -> a.conv2d(path), a -> a.conv2dDelta(path, p.k, p.ws, x));   // [N, out, H', W']
    }

    @Override
    public void close() {
        layer.close();
    }
}
