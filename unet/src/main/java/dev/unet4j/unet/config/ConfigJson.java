package dev.unet4j.unet.config;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.unet.UnsupportedConfigException;

/** {@code config.json} text given in code (tests, built-in architectures), read by core's one config reader. */
final class ConfigJson {
    private ConfigJson() {
    }

    static DiffusersConfig parse(String json) {
        try {
            return DiffusersConfig.parse(json, "<json>");
        } catch (ModelException e) {
            throw new UnsupportedConfigException(e.getMessage());
        }
    }
}
