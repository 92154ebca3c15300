package dev.unet4j.quantization;

/** Which elements share one scale. */
public enum Granularity {
    /** One scale for the whole tensor. */
    PER_TENSOR,
    /** One scale per output channel (dimension 0 of a {@code [out, ...]} weight). */
    PER_OUTPUT_CHANNEL
}
