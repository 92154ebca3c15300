package dev.unet4j.unet;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

/**
 * A per-session change of a model's prepared conv/linear layers, found in the workspace's attributes
 * ({@code session.workspace().attributes().put(LayerAdapter.class, adapter)}): LoRA without touching the shared,
 * immutable model. For each layer (by diffusers module path, as {@link LayerFactory} sees it) it may give a
 * replacement layer (a merged private copy of the weight) or a side-path term added to the layer's output before its
 * fused residual and output scale: {@code y = (W x + b + delta(x) + residual) * scale}. Implementations are read-only
 * during calls, so one adapter may serve several sessions at once.
 */
public interface LayerAdapter {

    /** A layer to run instead of {@code path}'s linear, or null. */
    default Linear linear(String path) {
        return null;
    }

    /** A layer to run instead of {@code path}'s convolution, or null. */
    default Conv2d conv2d(String path) {
        return null;
    }

    /** The term added to linear {@code path}'s output for input {@code x} ({@code [.., in] -> [.., out]}), or null. */
    default Tensor linearDelta(String path, Kernels k, Workspace ws, Tensor x) {
        return null;
    }

    /** The term added to convolution {@code path}'s output for input {@code x} (same layout as the output), or null. */
    default Tensor conv2dDelta(String path, Kernels k, Workspace ws, Tensor x) {
        return null;
    }
}
