package dev.unet4j.cli;

import java.util.Locale;

/**
 * Upper bounds on the sizes the command line takes, checked before anything is allocated: an absurd count (a batch of
 * 2^31 - 1) must be a one-line refusal, not a NegativeArraySizeException or an OutOfMemoryError trace.
 */
final class Limits {
    /** Items in one UNet call or generation (SD 1.5 at batch 1,024 would need over 1 TB of activations). */
    static final int MAX_BATCH = 1024;
    /** Timed repetitions of one configuration. */
    static final int MAX_REPEATS = 100_000;
    /** Side of a latent or pixel sample. */
    static final int MAX_SIDE = 16_384;

    private Limits() {
    }

    /** {@code value} must be in {@code [min, max]}. */
    static void range(String option, long value, long min, long max) {
        if (value < min || value > max) {
            throw new UserException(option + " must be " + min + ".." + max + ", got " + value);
        }
    }

    /**
     * The float32 latents {@code [batch, channels, h, w]} of a run: each side at most {@link #MAX_SIDE}, and the
     * latents (held a few times over by a run, on the heap and natively) at most a quarter of the Java heap.
     */
    static void latents(String what, long batch, long channels, long h, long w) {
        if (h < 1 || w < 1 || h > MAX_SIDE || w > MAX_SIDE) {
            throw new UserException(what + ": sample size " + h + "x" + w + " is outside 1.." + MAX_SIDE);
        }
        double bytes = 4.0 * batch * channels * h * w;
        long heap = Runtime.getRuntime().maxMemory();
        if (bytes > Integer.MAX_VALUE - 8 || bytes > heap / 4.0) {
            throw new UserException(String.format(Locale.ROOT, "%s: latents [%d, %d, %d, %d] need %.0f MB, more than a quarter"
                    + " of the %d MB Java heap; use a smaller batch or size (or a larger -Xmx)", what, batch, channels, h, w,
                    bytes / 1e6, heap >> 20));
        }
    }
}
