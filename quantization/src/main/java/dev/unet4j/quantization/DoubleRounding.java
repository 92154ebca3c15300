package dev.unet4j.quantization;

/**
 * Bit switching by double rounding: a weight is stored once as INT8 ({@code q8}, scale {@code s8} per channel) and
 * an {@code l}-bit weight is derived at run time by rounding the stored integer again:
 *
 * <pre>
 *   q_l = clamp(round(q8 / 2^(8-l)), -(2^(l-1) - 1), 2^(l-1) - 1)      s_l = s8 * 2^(8-l)
 * </pre>
 *
 * <p>{@code round} is round half to even on the exact quotient, computed with integer arithmetic (an arithmetic
 * shift gives the floor, the remainder decides), so no floating point is involved and the result is exact. The
 * clamp keeps the derived range symmetric like INT8's ({@code -2^(l-1)} is never used), which means that for
 * {@code |q8| >= 2^(8-l) * (2^(l-1) - 1/2)} the derived weight saturates (e.g. at 4 bits, {@code |q8| >= 120} maps
 * to 7, so the top 127/112 of the range is clipped).
 */
public final class DoubleRounding {
    public static final int MIN_BITS = 2;
    public static final int MAX_BITS = 8;

    private static final float[][] CODE_VALUES = new float[MAX_BITS + 1][];

    static {
        for (int bits = MIN_BITS; bits <= MAX_BITS; bits++) {
            float[] t = new float[256];
            float step = 1 << (MAX_BITS - bits);
            for (int code = 0; code < 256; code++) t[code] = derive((byte) code, bits) * step;
            CODE_VALUES[bits] = t;
        }
    }

    private DoubleRounding() {
    }

    /** The {@code bits}-bit integer derived from the stored INT8 code {@code q8}. */
    public static int derive(int q8, int bits) {
        checkBits(bits);
        int shift = MAX_BITS - bits;
        int max = (1 << (bits - 1)) - 1;
        if (shift == 0) return Math.max(-max, Math.min(max, q8)); // -128 is never stored (QuantizedTensor rejects it)
        int floor = q8 >> shift;                 // floor division by 2^shift, also for negative q8
        int rem = q8 - (floor << shift);         // in [0, 2^shift)
        int half = 1 << (shift - 1);
        int q = floor + ((rem > half || (rem == half && (floor & 1) != 0)) ? 1 : 0);
        return Math.max(-max, Math.min(max, q));
    }

    /** The scale of the derived {@code bits}-bit weights: {@code scale8 * 2^(8 - bits)}. */
    public static float derivedScale(float scale8, int bits) {
        checkBits(bits);
        return scale8 * (1 << (MAX_BITS - bits));
    }

    /**
     * By unsigned INT8 code: {@code derive(code, bits) * 2^(8-bits)}, the derived weight in units of the stored
     * scale (so {@code w = table[code & 0xFF] * scale8}). A shared read-only table; do not modify.
     */
    static float[] codeValues(int bits) {
        checkBits(bits);
        return CODE_VALUES[bits];
    }

    /**
     * By unsigned INT8 code: {@code derive(code, bits) * 2^(8-bits)} as a byte (at most 127 in magnitude), so an
     * int8 kernel running on these codes with the stored scales computes the derived {@code bits}-bit weights
     * exactly. A fresh copy.
     */
    public static byte[] scaledCodes(int bits) {
        float[] t = codeValues(bits);
        byte[] out = new byte[256];
        for (int code = 0; code < 256; code++) out[code] = (byte) t[code];
        return out;
    }

    static void checkBits(int bits) {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException("double rounding derives 2..8-bit weights from INT8, not " + bits + " bits");
        }
    }
}
