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

    /** {@code downsample_padding}: the 3x3 downsampling conv's padding, 0 (asymmetric pad before) to 3. */
    static void padding(String model, int value) {
        if (value < 0 || value > 3) {
            throw new UnsupportedConfigException(model + ": downsample_padding must be in [0, 3] (a 3x3 conv), got " + value);
        }
    }
}
