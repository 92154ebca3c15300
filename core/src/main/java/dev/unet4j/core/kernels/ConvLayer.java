package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

/**
 * An N-d convolution or transposed convolution prepared once for a {@link Kernels} backend ({@link ConvSpec}).
 * Immutable after creation and safe to call from several threads, each with its own {@link Workspace}.
 */
public interface ConvLayer extends AutoCloseable {
    ConvSpec spec();

    /** {@code y = conv(x) + bias} for {@code x} {@code [N, in, spatial...]}. */
    Tensor forward(Workspace ws, Tensor x);

    @Override
    void close();
}
