package dev.unet4j.pipeline.denoising;

import dev.unet4j.samplers.Latents;

/**
 * The outcome of {@link Pipeline#generate}.
 *
 * @param latents   the final sample {@code [B, C, H, W]} (pixel models: images in [-1, 1])
 * @param unetCalls UNet calls made (guided evaluations are one batched call)
 * @param macsDone  multiply-accumulates computed, or -1 when the run model did not count them
 * @param macsFull  what the same calls cost without caching, or -1 when unknown
 * @param nanos     wall time of the run
 */
public record GenerationResult(Latents latents, int unetCalls, long macsDone, long macsFull, long nanos) {

    /** Share of the full computation that was done (1 without caching), or NaN when unknown. */
    public double computedFraction() {
        return macsFull <= 0 || macsDone < 0 ? Double.NaN : (double) macsDone / macsFull;
    }
}
