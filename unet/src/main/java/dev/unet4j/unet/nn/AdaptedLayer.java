package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Layer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerAdapter;

import java.util.function.Function;

/**
 * One prepared layer's call under the session's {@link LayerAdapter}, the same rule for {@link Conv} and
 * {@link Dense}: no adapter, the layer itself; a replacement layer runs instead; else the adapter's side-path term
 * (LoRA) joins the fused residual, {@code y = (W x + b + delta(x) + residual) * scale}.
 */
final class AdaptedLayer {
    private AdaptedLayer() {
    }

    /**
     * @param replacement the adapter's layer to run instead, or null
     * @param delta       the adapter's side-path term for {@code x} (a new tensor, closed here), or null
     */
    static Tensor forward(Pass p, Layer layer, Tensor x, Tensor residual, float outputScale,
                          Function<LayerAdapter, Layer> replacement, Function<LayerAdapter, Tensor> delta) {
        LayerAdapter a = p.ws.attributes().get(LayerAdapter.class);
        if (a == null) return layer.forward(p.ws, x, residual, outputScale);
        Layer merged = replacement.apply(a);
        if (merged != null) return merged.forward(p.ws, x, residual, outputScale);
        Tensor d = delta.apply(a);
        if (d == null) return layer.forward(p.ws, x, residual, outputScale);
        try (d; Tensor sum = residual == null ? null : p.k.add(p.ws, residual, d, 1f, 1f)) {
            return layer.forward(p.ws, x, sum == null ? d : sum, outputScale);
        }
    }
}
