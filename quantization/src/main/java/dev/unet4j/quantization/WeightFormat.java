package dev.unet4j.quantization;

import dev.unet4j.quantization.fp8.Fp8Format;
import dev.unet4j.quantization.fp8.Fp8Overflow;

/**
 * How one weight element is stored in a byte, and what real number a code stands for before the channel scale.
 *
 * <ul>
 *   <li>{@link #INT8}: two's complement integer in {@code [-127, 127]}. -128 is never produced: a symmetric range
 *   keeps {@code -w} representable whenever {@code w} is, so the zero point stays exactly 0 and negation does not
 *   clip, and it is the range that the second rounding of {@link DoubleRounding} halves exactly.</li>
 *   <li>{@link #FP8_E4M3}, {@link #FP8_E5M2}: OFP8 codes (see {@link Fp8Format}), always encoded saturating, so
 *   weights never decode to NaN or infinity.</li>
 * </ul>
 */
public enum WeightFormat {
    INT8("I8", null),
    FP8_E4M3("F8_E4M3", Fp8Format.E4M3),
    FP8_E5M2("F8_E5M2", Fp8Format.E5M2);

    /** Largest INT8 code magnitude. */
    public static final int INT8_MAX = 127;

    private final String safetensorsDtype;
    private final Fp8Format fp8;
    private final float[] codeValues;

    WeightFormat(String safetensorsDtype, Fp8Format fp8) {
        this.safetensorsDtype = safetensorsDtype;
        this.fp8 = fp8;
        this.codeValues = fp8 != null ? fp8.decodeTable() : DoubleRounding.codeValues(8);
    }

    /** The dtype name of this format in a safetensors header. */
    public String safetensorsDtype() {
        return safetensorsDtype;
    }

    /** The largest code magnitude: 127, 448 or 57344. A range of {@code amax} maps to {@code scale = amax / maxCode()}. */
    public float maxCode() {
        return fp8 != null ? fp8.maxFinite() : INT8_MAX;
    }

    public boolean isFp8() {
        return fp8 != null;
    }

    /** The value of {@code code} before scaling (exact). */
    public float codeValue(byte code) {
        return codeValues[code & 0xFF];
    }

    /** The 256 values of the codes, by unsigned code (a copy). */
    public float[] codeValues() {
        return codeValues.clone();
    }

    /** The shared code-value table (not copied; callers must not modify it). */
    float[] codeTable() {
        return codeValues;
    }

    /** The code for {@code x / scale}: round half to even, saturated to the format's range. */
    public byte encode(float x, float scale) {
        float v = x / scale;
        if (fp8 != null) return fp8.encode(v, Fp8Overflow.SATURATE);
        return (byte) Math.max(-INT8_MAX, Math.min(INT8_MAX, (int) Math.rint(v)));
    }

    /** {@code decode(encode(x, scale)) * scale}: the value {@code x} becomes after quantization. */
    public float fakeQuantize(float x, float scale) {
        return codeValue(encode(x, scale)) * scale;
    }
}
