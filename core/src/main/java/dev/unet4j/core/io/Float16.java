package dev.unet4j.core.io;

/**
 * IEEE-754 binary16 conversions ({@code Float.float16ToFloat} only exists from Java 20). Decoding is exact for every
 * code (subnormals, signed zeros, infinities; NaN payloads are kept in the high mantissa bits). Encoding rounds to
 * nearest, ties to even, overflowing to infinity as IEEE requires.
 */
public final class Float16 {
    private static final float[] TABLE = new float[1 << 16];

    static {
        for (int h = 0; h < TABLE.length; h++) TABLE[h] = compute(h);
    }

    private Float16() {
    }

    /** The float value of a binary16 code (low 16 bits of {@code bits}). */
    public static float toFloat(short bits) {
        return TABLE[bits & 0xffff];
    }

    static float[] table() {
        return TABLE;
    }

    private static float compute(int h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float magnitude = mant * 0x1p-24f; // exact: mant < 2^10
            return sign != 0 ? -magnitude : magnitude;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** The binary16 code nearest to {@code f} (ties to even); NaN stays NaN, overflow becomes infinity. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) { // infinity or NaN (quiet bit forced so a NaN never becomes infinity)
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) return (short) (sign | 0x7c00); // >= 65520 rounds to infinity
        if (abs < 0x38800000) { // below 2^-14: subnormal or zero; scaling by 2^24 is exact in double
            return (short) (sign | (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24));
        }
        int h = ((((abs >>> 23) - 127 + 15) << 10) | ((abs & 0x7fffff) >>> 13));
        int rest = abs & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) h++; // a carry into the exponent is correct
        return (short) (sign | h);
    }
}
