package dev.unet4j.caching;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the test classes on the tiny Stable Diffusion fixture: loaded once per class, closed after it. */
abstract class SdFixtureTest {
    static TestModels sd;

    @BeforeAll
    static void loadSd() {
        sd = new TestModels(TestModels.SD);
    }

    @AfterAll
    static void closeSd() {
        sd.close();
    }
}
