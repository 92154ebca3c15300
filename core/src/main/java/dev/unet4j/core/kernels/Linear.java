package dev.unet4j.core.kernels;

/**
 * A fully connected layer {@code y = x W^T + b} over the last dimension of {@code x} ({@code [.., in] -> [.., out]}),
 * prepared once for a backend; {@code op} of {@link Layer#forward} is {@code x W^T}.
 */
public interface Linear extends Layer {
    int inFeatures();

    int outFeatures();
}
