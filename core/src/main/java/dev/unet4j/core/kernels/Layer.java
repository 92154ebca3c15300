package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

/**
 * A layer prepared once for a {@link Kernels} backend: a {@link Conv2d} or a {@link Linear}. Both are called the same
 * way, so a wrapper that does something around the call (calibration, quantization checks, tracing) is written once,
 * on {@link ForwardingLayer}. Immutable after creation and safe to call from several threads, each with its own
 * {@link Workspace}.
 */
public interface Layer extends AutoCloseable {
    /** {@code y = op(x) + bias}. */
    default Tensor forward(Workspace ws, Tensor x) {
        return forward(ws, x, null, 1f);
    }

    /**
     * {@code y = (op(x) + bias + residual) * outputScale}: the resnet shortcut sum and diffusers'
     * {@code output_scale_factor} fused into the layer. {@code residual} may be null.
     */
    Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale);

    @Override
    void close();
}
