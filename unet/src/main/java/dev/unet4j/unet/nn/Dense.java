package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerAdapter;

/**
 * A prepared linear layer over the last dimension that counts its MACs into the pass; a session's
 * {@link LayerAdapter} may replace it or add a side path (LoRA).
 */
public final class Dense implements AutoCloseable {
    private final String path;
    private final Linear layer;

    Dense(String path, Linear layer) {
        this.path = path;
        this.layer = layer;
    }

    /** The diffusers module path ({@code down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q}). */
    public String path() {
        return path;
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
        return AdaptedLayer.forward(p, layer, x, residual, outputScale,
                a -> a.linear(path), a -> a.linearDelta(path, p.k, p.ws, x));   // [.., out]
    }

    @Override
    public void close() {
        layer.close();
    }
}
