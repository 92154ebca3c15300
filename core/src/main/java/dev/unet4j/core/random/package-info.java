/**
 * Random numbers as torch draws them: {@link dev.unet4j.core.random.TorchGenerator} reproduces
 * {@code torch.randn} and {@code torch.randint} of a seeded CPU generator bit for bit. It lives in core because
 * more than the samplers draw from it (the VAE's posterior sample, token merging's random picks), and core is
 * the one module they all reach.
 */
package dev.unet4j.core.random;
