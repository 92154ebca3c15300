package dev.unet4j.core.kernels;

/**
 * Scalar functions of the reference backend, in double precision. {@code erf}/{@code erfc} are accurate to a few
 * ulp of double (a positive-term series below 2.5, a continued fraction above), far beyond what the float32
 * kernels they check can resolve.
 */
final class RefMath {
    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;
    private static final double SQRT_HALF = 0.7071067811865476;
    private static final double SQRT_TWO_OVER_PI = 0.7978845608028654;
    /** Below this |x| the series converges quickly; above it the continued fraction does. */
    private static final double SERIES_LIMIT = 2.5;

    private RefMath() {
    }

    static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        double r = a < SERIES_LIMIT ? erfSeries(a) : 1.0 - erfcContinuedFraction(a);
        return x < 0 ? -r : r;
    }

    static double erfc(double x) {
        if (Double.isNaN(x)) return x;
        if (x < 0) return 2.0 - erfc(-x);
        return x < SERIES_LIMIT ? 1.0 - erfSeries(x) : erfcContinuedFraction(x);
    }

    /**
     * {@code erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1))} for x >= 0: every term is positive,
     * so there is no cancellation (unlike the alternating Taylor series).
     */
    private static double erfSeries(double x) {
        double x2 = x * x;
        double term = x, sum = x;
        for (int n = 1; n < 200; n++) {
            term *= 2.0 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
    }

    /**
     * {@code erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))} for x >= 2.5,
     * evaluated with the modified Lentz algorithm.
     */
    private static double erfcContinuedFraction(double x) {
        if (x > 27) return 0.0; // exp(-x^2) underflows
        final double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++) {
            double an = n * 0.5;
            d = x + an * d;
            if (d == 0) d = tiny;
            c = x + an / c;
            if (c == 0) c = tiny;
            d = 1.0 / d;
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1.0) < 1e-16) break;
        }
        return ONE_OVER_SQRT_PI * Math.exp(-x * x) / f;
    }

    static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    static double silu(double x) {
        return x * sigmoid(x);
    }

    /** {@code 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2)}: the erfc form keeps relative accuracy for x << 0. */
    static double geluExact(double x) {
        return 0.5 * x * erfc(-x * SQRT_HALF);
    }

    /** torch's {@code approximate="tanh"}: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    static double geluTanh(double x) {
        return 0.5 * x * (1.0 + Math.tanh(SQRT_TWO_OVER_PI * (x + 0.044715 * x * x * x)));
    }
}
