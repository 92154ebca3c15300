package dev.unet4j.caching;

/**
 * Which classifier-free-guidance halves a UNet call runs ({@link PolicyRun#halves}). A guided call's batch is
 * {@code [uncond; cond]}, as the samplers' {@link dev.unet4j.samplers.guidance.Guidance} builds it.
 */
public enum GuidanceHalves {
    /** Not a guided call (no CFG, or a call made without the guidance seam): the batch is whatever the caller built. */
    UNGUIDED,
    /** A guided call running both halves: the batch is {@code [uncond; cond]}. */
    BOTH,
    /**
     * A guided call running only the conditional half (batch B); a policy supplies the unconditional prediction
     * ({@link PolicyRun#unconditional}) and the session returns {@code [uncond; cond]} (2B).
     */
    COND_ONLY
}
