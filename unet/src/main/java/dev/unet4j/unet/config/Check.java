package dev.unet4j.unet.config;

import dev.unet4j.unet.UnsupportedConfigException;

import java.util.Arrays;

final class Check {
    private Check() {
    }

    static void oneOf(String model, String key, String value, String... allowed) {
        if (value == null || !Arrays.asList(allowed).contains(value)) {
            throw new UnsupportedConfigException(model + ": " + key + " \"" + value + "\" is not supported (supported: "
                    + String.join(", ", allowed) + ")");
        }
    }

    /**
     * Sizes that become channel counts, divisors or loop bounds must be positive: a 0 or a negative value from a
     * hand-edited config would otherwise surface as a division by zero or a negative array size deep in the build.
     */
    static void positive(String model, String key, Integer... values) {
        if (values == null) return;
        for (Integer v : values) {
            if (v != null && v <= 0) throw new UnsupportedConfigException(model + ": " + key + " must be positive, got " + v);
        }
    }

    static void positive(String model, String key, int[] values) {
        if (values == null) return;
        for (int v : values) positive(model, key, v);
    }

    /** {@code block_out_channels} must name at least one block (diffusers indexes {@code [0]} for conv_in). */
    static void blocks(String model, int n) {
        if (n == 0) throw new UnsupportedConfigException(model + ": block_out_channels is empty; a UNet needs at least one block");
    }

    /**
     * An epsilon added under a square root (GroupNorm's {@code norm_eps}): a float32 number {@code > 0}. 0 divides by
     * zero on a constant channel, a negative one takes the root of a negative number: NaN output, a black image.
     */
    static void epsilon(String model, String key, double value) {
        float f = (float) value;
        if (!(f > 0) || !Float.isFinite(f)) {
            throw new UnsupportedConfigException(model + ": " + key + " must be a number > 0 (a float32 epsilon), got " + value);
        }
    }

    /**
     * A residual sum's divisor ({@code output_scale_factor}): the kernels multiply by {@code (float) (1 / value)},
     * which must be finite and non-zero; 0 gives infinite activations (NaN after the next norm), a value so large
     * that the reciprocal underflows zeroes the block. Either way the output is certain to be wrong.
     */
    static void divisor(String model, String key, double value) {
        float r = (float) (1.0 / value);
        if (!Float.isFinite(r) || r == 0 || !Double.isFinite(value)) {
            throw new UnsupportedConfigException(model + ": " + key + " " + value + " cannot divide the residual sum (the output "
                    + "would be " + (r == 0 ? "zero" : "infinite or NaN") + "); use a finite, non-zero number such as 1");
        }
    }

    /** {@code downsample_padding}: the 3x3 downsampling conv's padding, 0 (asymmetric pad before) to 3. */
    static void padding(String model, int value) {
        if (value < 0 || value > 3) {
            throw new UnsupportedConfigException(model + ": downsample_padding must be in [0, 3] (a 3x3 conv), got " + value);
        }
    }
}
