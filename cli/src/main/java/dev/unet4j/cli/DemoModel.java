package dev.unet4j.cli;

import dev.unet4j.demo.DemoModels;

import java.nio.file.Path;

/**
 * The demo model {@code demo-digits} (class-conditional 16x16 digits, see the README), from {@code unet4j-demo}
 * ({@link DemoModels#digits()}: extracted once to a verified cache folder), with its recommended settings.
 */
final class DemoModel {
    static final String NAME = "demo-digits";
    /** The null (unconditional) class of the demo model, trained with label dropout. */
    static final int NULL_CLASS = 10;
    /** The demo model's recommended guidance scale (models/README: 95% of samples recognised at 1.5). */
    static final double GUIDANCE = 1.5;

    private DemoModel() {
    }

    /** Whether {@code configJson} is the demo model's config.json byte for byte (copies and quantized versions). */
    static boolean isDemoConfig(byte[] configJson) {
        return DemoModels.isDigitsConfig(configJson);
    }

    /** The extracted, verified demo model folder. */
    static Path folder() {
        return DemoModels.digits();
    }
}
