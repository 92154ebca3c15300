package dev.unet4j.samplers;

/**
 * The model as the samplers see it: one evaluation on the (already input-scaled) latents, returning the raw
 * network output (epsilon, v or x0 per the schedule's prediction type) with the same shape as {@code x}.
 * Conditioning and guidance live behind this interface (see {@link dev.unet4j.samplers.guidance.Guidance}).
 * Implementations must not modify {@code x}.
 */
@FunctionalInterface
public interface Denoiser {
    Latents predict(Latents x, ModelCall call);
}
