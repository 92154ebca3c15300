package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

/**
 * A convolution layer prepared once for a {@link Kernels} backend (weights copied or reordered into the
 * backend's layout, primitives cached per input shape). Immutable after creation and safe to call from
 * several threads, each with its own {@link Workspace}.
 */
public interface Conv2d extends AutoCloseable {
    Conv2dSpec spec();

    /** {@code y = conv(x) + bias}. */
    default Tensor forward(Workspace ws, Tensor x) {
        return forward(ws, x, null, 1f);
    }

    /**
     * {@code y = (conv(x) + bias + residual) * outputScale}: the resnet shortcut sum and diffusers'
     * {@code output_scale_factor} fused into the convolution. {@code residual} may be null.
     */
    Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale);

    @Override
    void close();
}
