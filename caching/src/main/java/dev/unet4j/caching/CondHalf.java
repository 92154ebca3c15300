package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;

/**
 * Serving a feature kept from one call into a call of another batch. A guided generation batches {@code [uncond;
 * cond]}; when a policy runs a call on the conditional half only ({@link GuidanceHalves#COND_ONLY}), a feature kept
 * from a 2B call serves it with its second half (what diffusers' {@code FasterCacheBlockHook} does with its cached
 * attention outputs, {@code t_output[batch_size:]}). Any other batch change cannot be served.
 */
public final class CondHalf {
    private CondHalf() {
    }

    /** Whether a feature of batch {@code kept} can serve a call of batch {@code now}. */
    public static boolean serves(long kept, long now) {
        return kept == now || kept == 2 * now;
    }

    /** A view of {@code kept} for a call of batch {@code now} (closing it frees nothing). */
    public static Tensor view(Tensor kept, long now) {
        long b = kept.dim(0);
        if (b == now) return kept.view(kept.shape(), kept.strides(), kept.offset());
        if (b == 2 * now) return kept.narrow(0, now, now);                    // the conditional half
        throw new IllegalStateException("a feature of batch " + b + " cannot serve a call of batch " + now);
    }
}
