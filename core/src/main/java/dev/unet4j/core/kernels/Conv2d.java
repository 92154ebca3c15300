package dev.unet4j.core.kernels;

/**
 * A convolution layer prepared once for a {@link Kernels} backend (weights copied or reordered into the
 * backend's layout, primitives cached per input shape); {@code op} of {@link Layer#forward} is the convolution.
 */
public interface Conv2d extends Layer {
    Conv2dSpec spec();
}
