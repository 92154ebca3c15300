/**
 * One-call generation on top of the samplers: {@link dev.unet4j.samplers.pipeline.Pipeline} (a UNet and a sampler,
 * optionally a per-run {@link dev.unet4j.samplers.pipeline.RunModel.Factory} such as a feature cache) runs a
 * {@link dev.unet4j.samplers.pipeline.Generation} (steps, seeds or noise, class or text conditioning, classifier-free
 * guidance, progress callback) and returns a {@link dev.unet4j.samplers.pipeline.GenerationResult}. The network is
 * the samplers' {@link dev.unet4j.samplers.UNetDenoiser}; this package only wires the pieces together.
 */
package dev.unet4j.samplers.pipeline;
