package dev.unet4j.vae;

/**
 * What every VAE class's config says about its latent space, read through {@link Autoencoder}: how many pixels a
 * latent covers, its channels, and the scale and shift that bring latents to the diffusion model's range.
 */
public sealed interface AutoencoderConfig permits AutoencoderKLConfig, AutoencoderTinyConfig {
    /** Pixels per latent along each axis. */
    int scaleFactor();

    int latentChannels();

    /** {@code scaling_factor}. */
    double scalingFactor();

    /** {@code shift_factor}, 0 when none. */
    double shift();
}
