package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;

/**
 * A resnet's built-in resampling ({@code ResnetBlock2D(up=True / down=True)}, used by the {@code "resnet"}
 * down/upsample types): nearest 2x upsampling, or 2x2 average pooling ({@code Downsample2D(use_conv=False)}).
 */
public enum Resample {
    NONE, UP, DOWN;

    /** The resampled {@code x} (borrowed) as a new tensor; not for {@link #NONE}. */
    Tensor apply(Pass p, Tensor x) {
        return switch (this) {
            case UP -> p.k.upsampleNearest(p.ws, x, (int) x.dim(2) * 2, (int) x.dim(3) * 2);
            case DOWN -> p.k.avgPool2d(p.ws, x, 2, 2);
            case NONE -> throw new IllegalStateException("no resampling");
        };
    }
}
