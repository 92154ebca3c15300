package dev.unet4j.pipeline;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;

/**
 * sd-pipeline-tiny loaded once per test class that extends this, with the default options (JUnit runs a superclass's
 * static {@code @BeforeAll}/{@code @AfterAll} around each subclass, before the subclass's own).
 */
abstract class TinySdPipeline {
    static StableDiffusion sd;

    @BeforeAll
    static void loadTinySdPipeline() throws IOException {
        sd = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults());
    }

    @AfterAll
    static void closeTinySdPipeline() {
        if (sd != null) sd.close();
    }
}
