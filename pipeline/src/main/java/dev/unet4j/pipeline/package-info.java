/**
 * Stable Diffusion pipelines read from diffusers pipeline folders ({@code model_index.json}): {@link
 * dev.unet4j.pipeline.StableDiffusion} loads the tokenizer, text encoder, UNet, VAE and scheduler config once and
 * generates from many threads; {@link dev.unet4j.pipeline.TextToImage} says what to generate (prompt, negative prompt,
 * size, steps, guidance, seed, images per prompt, img2img init image and strength). The denoising loop is the
 * {@link dev.unet4j.pipeline.denoising.Pipeline} (a UNet and a sampler), so every sampler, feature cache and
 * quantization scheme applies as for bare UNets.
 */
package dev.unet4j.pipeline;
