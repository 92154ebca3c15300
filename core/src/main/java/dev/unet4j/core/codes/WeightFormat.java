package dev.unet4j.core.codes;

import java.util.Locale;

/**
 * How one weight element is stored in a byte, and what real number a code stands for before the per-channel scale
 * ({@code w = value(code) * scale}). The constant names are what quantized checkpoints record as a tensor's
 * {@code format}; {@link #safetensorsDtype()} is its dtype in a safetensors header.
 *
 * <ul>
 *   <li>{@link #INT8}: two's complement integer, the code itself. Quantizers produce {@code [-127, 127]} only: a
 *   symmetric range keeps {@code -w} representable whenever {@code w} is, so the zero point stays exactly 0 and
 *   negation does not clip, and it is the range that double rounding halves exactly.</li>
 *   <li>{@link #FP8_E4M3}, {@link #FP8_E5M2}: OFP8 codes (see {@link Fp8Format}), always encoded saturating, so
 *   quantized weights never decode to NaN or infinity.</li>
 * </ul>
 */
public enum WeightFormat {
    INT8("I8", null),
    FP8_E4M3("F8_E4M3", Fp8Format.E4M3),
    FP8_E5M2("F8_E5M2", Fp8Format.E5M2);

    /** Largest INT8 code magnitude a quantizer produces. */
    public static final int INT8_MAX = 127;

    private final String safetensorsDtype;
    private final Fp8Format fp8;
    private final float[] codeValues = new float[256];

    WeightFormat(String safetensorsDtype, Fp8Format fp8) {
        this.safetensorsDtype = safetensorsDtype;
        this.fp8 = fp8;
        for (int code = 0; code < 256; code++) codeValues[code] = fp8 != null ? fp8.decode((byte) code) : (byte) code;
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

    /** The exact value of {@code code} before scaling. */
    public float codeValue(byte code) {
        return codeValues[code & 0xFF];
    }

    /** The 256 values of the codes, by unsigned code (a copy). */
    public float[] codeValues() {
        return codeValues.clone();
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

    /** The layer name prefix in messages: {@code "int8-weight"}, {@code "f8_e4m3-weight"} or {@code "f8_e5m2-weight"}. */
    public String label() {
        return (fp8 == null ? "int8" : safetensorsDtype.toLowerCase(Locale.ROOT)) + "-weight";
    }
}
