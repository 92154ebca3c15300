package dev.unet4j.core.io;

/**
 * The two 8-bit floating-point formats of the OCP 8-bit Floating Point Specification (OFP8, 2023), as stored by
 * safetensors ({@code F8_E4M3}, {@code F8_E5M2}; PyTorch {@code float8_e4m3fn} / {@code float8_e5m2}).
 *
 * <ul>
 *   <li>E4M3: bias 7, no infinities; {@code S.1111.111} is NaN, so the largest finite value is
 *       {@code 1.75 * 2^8 = 448}; exponent field 0 encodes subnormals {@code m/8 * 2^-6}.</li>
 *   <li>E5M2: IEEE-754-like, bias 15; exponent field 31 encodes infinity (mantissa 0) and NaN; largest finite
 *       value {@code 1.75 * 2^15 = 57344}; subnormals {@code m/4 * 2^-14}.</li>
 * </ul>
 * Every code is decoded exactly (float32 holds all of them); decoding is a table lookup.
 */
public final class Float8 {
    private static final float[] E4M3 = new float[256];
    private static final float[] E5M2 = new float[256];

    static {
        for (int code = 0; code < 256; code++) {
            E4M3[code] = compute(code, 3, 7, false);
            E5M2[code] = compute(code, 2, 15, true);
        }
    }

    private Float8() {
    }

    /** The value of an E4M3 code. */
    public static float decodeE4M3(byte code) {
        return E4M3[code & 0xff];
    }

    /** The value of an E5M2 code. */
    public static float decodeE5M2(byte code) {
        return E5M2[code & 0xff];
    }

    static float[] e4m3Table() {
        return E4M3;
    }

    static float[] e5m2Table() {
        return E5M2;
    }

    /** One format: {@code mantBits} mantissa bits, the rest (7 - mantBits) exponent bits. */
    private static float compute(int code, int mantBits, int bias, boolean ieeeSpecials) {
        boolean negative = (code & 0x80) != 0;
        int expBits = 7 - mantBits;
        int maxExp = (1 << expBits) - 1;
        int mantMask = (1 << mantBits) - 1;
        int e = (code >>> mantBits) & maxExp;
        int m = code & mantMask;
        float magnitude;
        if (ieeeSpecials && e == maxExp) {
            magnitude = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else if (!ieeeSpecials && e == maxExp && m == mantMask) {
            magnitude = Float.NaN; // E4M3 reserves only S.1111.111 for NaN
        } else if (e == 0) {
            magnitude = Math.scalb((float) m, 1 - bias - mantBits);
        } else {
            magnitude = Math.scalb((float) ((1 << mantBits) | m), e - bias - mantBits);
        }
        return negative ? -magnitude : magnitude;
    }
}
