package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.TestModels;
import dev.unet4j.samplers.guidance.TextConditioning;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The tiny text-conditioned UNet of the caching tests with its two guidance halves, loaded once per test class that
 * extends this (JUnit runs a superclass's static {@code @BeforeAll}/{@code @AfterAll} around each subclass).
 */
abstract class GuidedTinySd {
    static TestModels sd;
    static TextConditioning uncond, cond;

    @BeforeAll
    static void loadTinySd() {
        sd = new TestModels(TestModels.SD);
        TextConditioning[] halves = sd.guidanceHalves();
        uncond = halves[0];
        cond = halves[1];
    }

    @AfterAll
    static void closeTinySd() {
        sd.close();
    }
}
