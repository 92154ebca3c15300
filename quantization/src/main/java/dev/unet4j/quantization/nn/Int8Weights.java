package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;

/** Shared checks and bookkeeping of the W8A8 layers ({@link Int8Conv2d}, {@link Int8Linear}). */
final class Int8Weights {
    private Int8Weights() {
    }

    /** Per-output-channel scales of INT8 {@code w} (a per-tensor scale repeated); all-zero channels get scale 1. */
    static float[] channelScales(String path, QuantizedTensor w) {
        if (w.format() != WeightFormat.INT8) {
            throw new IllegalArgumentException(path + ": W8A8 layers need INT8 weights, got " + w.format() + " (FP8 weights run as W8A32)");
        }
        float[] s = new float[w.channels()];
        for (int c = 0; c < s.length; c++) {
            float v = w.scale(c);
            s[c] = v > 0 ? v : 1f; // a zero scale only comes with all-zero codes
        }
        return s;
    }

    /** Resident bytes: the s8 codes (packed natively by oneDNN), float32 scales and bias. */
    static long residentBytes(QuantizedTensor w, float[] bias) {
        return w.codes().length + 4L * w.channels() + (bias == null ? 0 : 4L * bias.length);
    }

    /** W8A8 layers run the stored 8 bits; a lower session precision for them is a configuration error, not ignored. */
    static void checkPrecision(Workspace ws, String path) {
        WeightPrecision p = ws.attributes().get(WeightPrecision.class);
        if (p != null && p.bitsFor(path) != 8) {
            throw new IllegalStateException(path + ": W8A8 layer asked to run at " + p.bitsFor(path)
                    + " weight bits; double rounding (dr:N, mixed) needs W8A32 layers");
        }
    }
}
