package dev.unet4j.core.random;

/**
 * Scalar re-statement of the single-precision Cephes log and sincos that torch's AVX2 {@code normal_fill} uses
 * ({@code avx_mathfun.h}, after Julien Pommier's sse_mathfun). Every operation is a float operation, and a
 * multiply feeding an add is fused ({@link Math#fma}) exactly where GCC contracted the AVX2 kernel's mul/add pairs
 * (found by matching torch's output bit for bit), so results are identical to torch's. Only valid for the inputs normal_fill produces (log of (0,1], sincos of [0, 2pi)).
 */
final class CephesF32 {
    private CephesF32() {
    }

    private static final float SQRTHF = 0.707106781186547524f;
    private static final float[] LOG_P = {7.0376836292E-2f, -1.1514610310E-1f, 1.1676998740E-1f, -1.2420140846E-1f,
            1.4249322787E-1f, -1.6668057665E-1f, 2.0000714765E-1f, -2.4999993993E-1f, 3.3333331174E-1f};
    private static final float LOG_Q1 = -2.12194440e-4f;
    private static final float LOG_Q2 = 0.693359375f;

    static float log(float x) {
        x = Math.max(x, Float.intBitsToFloat(0x00800000)); // cut off denormals
        int bits = Float.floatToRawIntBits(x);
        float e = (float) ((bits >>> 23) - 0x7f);
        x = Float.intBitsToFloat((bits & ~0x7f800000) | Float.floatToRawIntBits(0.5f));
        e = e + 1.0f;
        float tmp = 0f;
        if (x < SQRTHF) {
            tmp = x;
            e = e - 1.0f;
        }
        x = x - 1.0f;
        x = x + tmp;
        float z = x * x;
        float y = LOG_P[0];
        for (int i = 1; i < LOG_P.length; i++) y = Math.fma(y, x, LOG_P[i]);
        y = y * x;
        // GCC contracts "y*z + e*q1" into fma(y, z, e*q1) (not the other way round): it matters in the last bit
        y = Math.fma(y, z, e * LOG_Q1);
        y = Math.fma(z, -0.5f, y);
        x = x + y;
        return Math.fma(e, LOG_Q2, x);
    }

    private static final float FOPI = 1.27323954473516f;
    private static final float DP1 = -0.78515625f;
    private static final float DP2 = -2.4187564849853515625e-4f;
    private static final float DP3 = -3.77489497744594108e-8f;
    private static final float SIN_P0 = -1.9515295891E-4f, SIN_P1 = 8.3321608736E-3f, SIN_P2 = -1.6666654611E-1f;
    private static final float COS_P0 = 2.443315711809948E-005f, COS_P1 = -1.388731625493765E-003f,
            COS_P2 = 4.166664568298827E-002f;

    /** {sin(x), cos(x)}. */
    static float[] sincos(float x) {
        boolean negative = x < 0;
        x = Math.abs(x);
        int j = (int) (x * FOPI);
        j = (j + 1) & ~1;
        float y = j;
        boolean swapSin = (j & 4) != 0;
        boolean sinPolyFirst = (j & 2) == 0;
        boolean negCos = (~(j - 2) & 4) != 0;
        x = Math.fma(y, DP1, x);
        x = Math.fma(y, DP2, x);
        x = Math.fma(y, DP3, x);
        float z = x * x;
        float yc = COS_P0;
        yc = Math.fma(yc, z, COS_P1);
        yc = Math.fma(yc, z, COS_P2);
        yc = yc * z;
        yc = Math.fma(yc, z, -(z * 0.5f)); // contracted as (yc*z)*z - z/2 in one rounding
        yc = yc + 1.0f;
        float ys = SIN_P0;
        ys = Math.fma(ys, z, SIN_P1);
        ys = Math.fma(ys, z, SIN_P2);
        ys = ys * z;
        ys = Math.fma(ys, x, x);
        float s = sinPolyFirst ? ys : yc;
        float c = sinPolyFirst ? yc : ys;
        if (negative ^ swapSin) s = -s;
        if (negCos) c = -c;
        return new float[] {s, c};
    }
}
