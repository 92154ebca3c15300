package dev.unet4j.cli;

import dev.unet4j.demo.DemoModels;

import java.nio.file.Path;
import java.util.List;

/**
 * The bundled text-to-image demo {@code demo-text}: {@code shared/models/digits-text-32}, a Stable Diffusion 1.5
 * shaped pipeline trained on handwritten digits (32x32 RGB), from {@code unet4j-demo} ({@link DemoModels#text()}). Its
 * recommended settings (the model's README): DDIM 25 steps, guidance 3, 32x32; its no-prompt grid is diffusers' own
 * {@code samples-ddim25-g3.png}: rows "a handwritten zero" ... "a handwritten nine", columns seeds 0-7 (one generator
 * per image), 4x nearest-neighbour upscale.
 */
final class DemoText {
    static final String NAME = "demo-text";
    static final String SCHEDULER = "ddim";
    static final int STEPS = 25;
    static final double GUIDANCE = 3.0;
    static final int SIZE = 32;
    static final int GRID_SEEDS = 8;
    static final int GRID_UPSCALE = 4;
    static final List<String> GRID_PROMPTS = List.of("a handwritten zero", "a handwritten one", "a handwritten two",
            "a handwritten three", "a handwritten four", "a handwritten five", "a handwritten six", "a handwritten seven",
            "a handwritten eight", "a handwritten nine");
    private DemoText() {
    }

    /** The extracted, verified pipeline folder. */
    static Path folder() {
        return DemoModels.text();
    }
}
