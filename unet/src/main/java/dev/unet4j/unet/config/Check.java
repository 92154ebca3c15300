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
}
