/**
 * diffusers' VAEs: {@link dev.unet4j.vae.AutoencoderKL} (the Stable Diffusion VAE) with its config
 * {@link dev.unet4j.vae.AutoencoderKLConfig}, posterior {@link dev.unet4j.vae.LatentDistribution}, latent scaling and
 * diffusers-compatible tiled encode/decode. Built from the unet module's nodes (ResnetBlock2D, Attention, GroupNorm,
 * Upsample2D, Downsample2D) under diffusers' checkpoint key names.
 */
package dev.unet4j.vae;
