package dev.unet4j.unet.config;

import dev.unet4j.core.checkpoint.DiffusersConfig;

/**
 * A UNet's {@code sample_size}: the latent (or pixel) height and width it was trained at, the size a generation
 * uses when none is asked for. diffusers writes an integer (square) or {@code [height, width]}.
 */
public record SampleSize(int height, int width) {
    public SampleSize {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("sample_size " + height + "x" + width + " must be positive");
        }
    }

    /** {@code sample_size} of {@code c}, or null when it is missing or null. */
    static SampleSize read(DiffusersConfig c) {
        java.util.List<Integer> v = c.getIntListOrNull("sample_size", null);
        if (v == null) return null;
        if (v.size() > 2 || v.isEmpty() || v.stream().anyMatch(x -> x < 1)) {
            throw c.invalid("sample_size", "a positive integer or [height, width] of positive integers");
        }
        return new SampleSize(v.get(0), v.get(v.size() - 1));
    }

    /** {@code 32} for a square size, else {@code 32x48}. */
    @Override
    public String toString() {
        return height == width ? String.valueOf(height) : height + "x" + width;
    }
}
