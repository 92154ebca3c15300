package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

/**
 * A fully connected layer {@code y = x W^T + b} over the last dimension of {@code x} ({@code [.., in] -> [.., out]}),
 * prepared once for a backend. Immutable and thread-safe like {@link Conv2d}.
 */
public interface Linear extends AutoCloseable {
    int inFeatures();

    int outFeatures();

    default Tensor forward(Workspace ws, Tensor x) {
        return forward(ws, x, null, 1f);
    }

    /** {@code y = (x W^T + b + residual) * outputScale}; {@code residual} may be null. */
    Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale);

    @Override
    void close();
}
