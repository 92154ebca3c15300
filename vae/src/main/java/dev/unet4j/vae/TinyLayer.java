package dev.unet4j.vae;

import dev.unet4j.unet.nn.Conv;

/** One entry of EncoderTiny's / DecoderTiny's {@code nn.Sequential}. */
interface TinyLayer extends Chain.Step {

    /** A plain convolution. */
    static TinyLayer conv(Conv c) {
        return c::forward;
    }

    /** A parameterless activation (its {@code layers.i} index holds nothing in the checkpoint). */
    static TinyLayer activation(TinyActivation a) {
        return (p, x) -> a.applyConsuming(p, p.copyOf(x));
    }

    /** {@code nn.Upsample(scale_factor, mode="nearest")}. */
    static TinyLayer upsample(int factor) {
        return (p, x) -> p.k.upsampleNearest(p.ws, x, Math.toIntExact(x.dim(2) * factor), Math.toIntExact(x.dim(3) * factor));
    }
}
