package dev.unet4j.quantization.activation;

/**
 * One activation quantizer: {@code q = clamp(rint(x / scale) + zeroPoint, qmin, qmax)}, {@code x' = (q - zeroPoint) * scale}.
 *
 * @param scheme    integer range and zero-point convention
 * @param scale     step between codes, positive
 * @param zeroPoint code of 0.0 (0 for {@link ActivationScheme#SYMMETRIC_S8})
 */
public record ActivationQuantParams(ActivationScheme scheme, float scale, int zeroPoint) {
    public ActivationQuantParams {
        if (!(scale > 0) || Float.isInfinite(scale)) throw new IllegalArgumentException("activation scale " + scale + " is not positive and finite");
        if (zeroPoint < scheme.qmin() || zeroPoint > scheme.qmax()) {
            throw new IllegalArgumentException("zero point " + zeroPoint + " outside " + scheme + " range");
        }
    }

    public int quantize(float x) {
        double q = Math.rint(x / scale) + zeroPoint;
        return (int) Math.max(scheme.qmin(), Math.min(scheme.qmax(), q));
    }

    public float dequantize(int q) {
        return (q - zeroPoint) * scale;
    }

    /** {@code dequantize(quantize(x))}. */
    public float fakeQuantize(float x) {
        return dequantize(quantize(x));
    }

    /** Fake-quantizes {@code x[offset, offset+length)} in place. */
    public void fakeQuantize(float[] x, int offset, int length) {
        for (int i = offset; i < offset + length; i++) x[i] = fakeQuantize(x[i]);
    }
}
