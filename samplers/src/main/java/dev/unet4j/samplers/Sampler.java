package dev.unet4j.samplers;

/** A diffusion sampler: runs the denoising loop with a model. Stateless between runs; safe to reuse. */
public interface Sampler {
    /** The name {@link Samplers#byName} knows it by. */
    String name();

    /** Runs the request and returns the final (unscaled) latents. Deterministic for a given noise source. */
    Latents sample(Denoiser model, SamplingRequest request);
}
