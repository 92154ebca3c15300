package dev.unet4j.vae;

import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The vae-tiny fixture model (4 latent channels, 2 levels: scale factor 2, sample_size 32) on oneDNN, loaded once per
 * test class that extends this (JUnit runs a superclass's static {@code @BeforeAll}/{@code @AfterAll} around each
 * subclass).
 */
abstract class TinyVae {
    static AutoencoderKL vae;

    @BeforeAll
    static void loadTinyVae() throws Exception {
        vae = AutoencoderKL.load(Fixtures.fixture("vae-tiny"), VaeTesting.kernels("onednn"));
    }

    @AfterAll
    static void closeTinyVae() {
        vae.close();
    }
}
