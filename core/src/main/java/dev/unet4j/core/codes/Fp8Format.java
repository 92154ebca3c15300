package dev.unet4j.core.codes;

/**
 * The two 8-bit floating point formats of the OCP 8-bit Floating Point Specification (OFP8), revision 1.0.
 *
 * <ul>
 *   <li>{@link #E4M3}: 4 exponent bits, bias 7, 3 mantissa bits. No infinities; the only NaN encodings are
 *   {@code S.1111.111}, so {@code S.1111.110 = ±448} is the largest finite value. Subnormals down to 2^-9.</li>
 *   <li>{@link #E5M2}: 5 exponent bits, bias 15, 2 mantissa bits, IEEE 754-like: {@code S.11111.00} is infinity,
 *   {@code S.11111.{01,10,11}} are NaNs, 57344 is the largest finite value. Subnormals down to 2^-16.</li>
 * </ul>
 *
 * <p>{@link #decode} is a table lookup, exact for all 256 codes. {@link #encode} rounds to nearest, ties to even,
 * and decides overflow after rounding, as the specification requires: a magnitude rounds on the grid continued
 * one step past the largest finite value, and it overflows only when it rounds to that extra step. So E4M3 maps
 * (448, 464] to 448 (464 is a tie between 448 = 1.110b·2^8 and the missing 480 = 1.111b·2^8, and 448's mantissa is
 * even) and E5M2 overflows from 61440 up (the tie between 57344 and 2^16 goes to the even 2^16). The sign of the
 * input is kept on zeros, NaNs and overflows.
 */
public enum Fp8Format {
    E4M3(4, 3, 7, 0x7E, 0x7F, -1),
    E5M2(5, 2, 15, 0x7B, 0x7F, 0x7C);

    private final int exponentBits;
    private final int mantissaBits;
    private final int bias;
    private final int maxFiniteCode; // magnitude code of the largest finite value
    private final int nanCode;       // magnitude code this encoder produces for NaN
    private final int infCode;       // magnitude code of infinity, -1 when the format has none
    private final float[] decodeTable = new float[256];

    Fp8Format(int exponentBits, int mantissaBits, int bias, int maxFiniteCode, int nanCode, int infCode) {
        this.exponentBits = exponentBits;
        this.mantissaBits = mantissaBits;
        this.bias = bias;
        this.maxFiniteCode = maxFiniteCode;
        this.nanCode = nanCode;
        this.infCode = infCode;
        for (int code = 0; code < 256; code++) decodeTable[code] = decodeSlow(code);
    }

    public int exponentBits() {
        return exponentBits;
    }

    public int mantissaBits() {
        return mantissaBits;
    }

    public int bias() {
        return bias;
    }

    /** Largest finite magnitude: 448 (E4M3) or 57344 (E5M2). */
    public float maxFinite() {
        return decodeTable[maxFiniteCode];
    }

    /** Smallest positive (subnormal) magnitude: 2^-9 (E4M3) or 2^-16 (E5M2). */
    public float minSubnormal() {
        return decodeTable[1];
    }

    public boolean hasInfinity() {
        return infCode >= 0;
    }

    /** The exact value of {@code code}: a finite value, {@code ±inf} (E5M2 only) or NaN. */
    public float decode(byte code) {
        return decodeTable[code & 0xFF];
    }

    /** A copy of the 256-entry decode table, indexed by the unsigned code. */
    public float[] decodeTable() {
        return decodeTable.clone();
    }

    /** Whether {@code code} encodes a NaN in this format. */
    public boolean isNaN(byte code) {
        return Float.isNaN(decodeTable[code & 0xFF]);
    }

    /**
     * Rounds {@code value} to this format: round to nearest, ties to even; overflow decided after rounding and
     * handled by {@code overflow}; NaN gives a NaN code ({@code S.1111.111} / {@code S.11111.11}) with the input's sign.
     */
    public byte encode(float value, Fp8Overflow overflow) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 24) & 0x80;
        int abs = bits & 0x7FFFFFFF;
        if (abs > 0x7F800000) return (byte) (sign | nanCode);
        if (abs == 0x7F800000) return (byte) (sign | overflowCode(overflow));
        int magnitude = roundMagnitude(abs);
        if (magnitude > maxFiniteCode) return (byte) (sign | overflowCode(overflow));
        return (byte) (sign | magnitude);
    }

    /** Encodes {@code src[i] / scale} for {@code i < n} into {@code dst}. */
    public void encode(float[] src, int srcOffset, byte[] dst, int dstOffset, int n, float scale, Fp8Overflow overflow) {
        for (int i = 0; i < n; i++) dst[dstOffset + i] = encode(src[srcOffset + i] / scale, overflow);
    }

    private int overflowCode(Fp8Overflow overflow) {
        if (overflow == Fp8Overflow.SATURATE) return maxFiniteCode;
        return hasInfinity() ? infCode : nanCode;
    }

    /**
     * Rounds the finite non-negative float with bit pattern {@code abs} onto this format's grid continued past its
     * largest exponent, and returns the magnitude code (which exceeds {@link #maxFiniteCode} on overflow; the
     * carry of a mantissa round-up runs into the exponent field, as in IEEE encoders).
     */
    private int roundMagnitude(int abs) {
        int expField = abs >>> 23;
        int exp = expField == 0 ? -126 : expField - 127;                 // unbiased float32 exponent
        int significand = expField == 0 ? abs & 0x7FFFFF : (abs & 0x7FFFFF) | 0x800000; // value = significand * 2^(exp-23)
        int minNormalExp = 1 - bias;
        int quantumExp = Math.max(exp, minNormalExp) - mantissaBits;     // spacing of the target grid at this magnitude
        int shift = quantumExp - (exp - 23);                             // significand bits below the quantum
        int q;
        if (shift > 25) {
            q = 0;                                                        // below half the smallest subnormal
        } else {
            q = significand >>> shift;
            int rem = significand & ((1 << shift) - 1);
            int half = 1 << (shift - 1);
            if (rem > half || (rem == half && (q & 1) != 0)) q++;
        }
        // q counts quanta: for subnormals the code is q itself; for normals the exponent field (exp + bias) sits
        // above the M mantissa bits and q includes the implicit leading one (2^M), hence the -1 on the field.
        int field = Math.max(exp + bias, 1);
        return ((field - 1) << mantissaBits) + q;
    }

    private float decodeSlow(int code) {
        int sign = (code & 0x80) != 0 ? -1 : 1;
        int magnitude = code & 0x7F;
        if (magnitude == nanCode || (hasInfinity() && magnitude > infCode)) return Float.NaN;
        if (magnitude == infCode) return sign * Float.POSITIVE_INFINITY;
        int field = magnitude >>> mantissaBits;
        int mantissa = magnitude & ((1 << mantissaBits) - 1);
        if (field == 0) return sign * Math.scalb((float) mantissa, 1 - bias - mantissaBits);
        // Normal: assemble the float32 bit pattern directly (exact, the exponent range fits float32's).
        int floatBits = ((field - bias + 127) << 23) | (mantissa << (23 - mantissaBits));
        return sign * Float.intBitsToFloat(floatBits);
    }
}
