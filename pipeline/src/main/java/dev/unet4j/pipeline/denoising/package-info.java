/**
 * One-call generation on top of the samplers: {@link dev.unet4j.pipeline.denoising.Pipeline} (a UNet and a sampler,
 * optionally a per-run {@link dev.unet4j.pipeline.denoising.RunModel.Factory} such as a feature cache) runs a
 * {@link dev.unet4j.pipeline.denoising.Generation} (steps, seeds or noise, class or text conditioning, classifier-free
 * guidance, progress callback) and returns a {@link dev.unet4j.pipeline.denoising.GenerationResult}. The network is
 * {@link dev.unet4j.pipeline.denoising.UNetDenoiser} (a UNet session as the samplers' model), or
 * {@link dev.unet4j.pipeline.denoising.CachedDiffusionModel} through a feature cache
 * ({@link dev.unet4j.pipeline.denoising.CachedRunModel}); this package only wires the pieces together, so the samplers
 * and the caches stay independent of each other's callers.
 */
package dev.unet4j.pipeline.denoising;
