package dev.unet4j.core.codes;

/**
 * What an FP8 encoder does with a magnitude that is above the format's largest finite value <em>after</em>
 * round-to-nearest-even (OFP8 rev 1.0, section "Conversion"), and with an infinite input.
 */
public enum Fp8Overflow {
    /** Clamp to {@code ±max} (448 for E4M3, 57344 for E5M2); infinities become {@code ±max} too. NaN stays NaN. */
    SATURATE,
    /** Overflow to NaN for E4M3 (which has no infinity) and to {@code ±inf} for E5M2. */
    NON_SATURATING
}
