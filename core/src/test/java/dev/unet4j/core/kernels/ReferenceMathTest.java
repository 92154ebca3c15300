package dev.unet4j.core.kernels;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The double-precision scalar functions against values of the C library's erf/erfc (glibc, correctly rounded or 1 ulp). */
class ReferenceMathTest {
    // x, erf(x), erfc(x) from glibc
    private static final double[][] ERF = {
            {0.1, 0.1124629160182849, 0.8875370839817152},
            {0.25, 0.2763263901682369, 0.7236736098317631},
            {0.5, 0.5204998778130465, 0.4795001221869535},
            {1, 0.8427007929497149, 0.15729920705028513},
            {1.7, 0.9837904585907745, 0.016209541409225436},
            {2, 0.9953222650189527, 0.004677734981047265},
            {2.4, 0.999311486103355, 0.0006885138966450789},
            {2.5, 0.999593047982555, 0.0004069520174449589},
            {2.6, 0.9997639655834707, 0.00023603441652934908},
            {3, 0.9999779095030014, 2.2090496998585438e-05},
            {3.5, 0.9999992569016276, 7.430983723414128e-07},
            {4, 0.9999999845827421, 1.541725790028002e-08},
            {5, 0.9999999999984626, 1.5374597944280351e-12},
            {6, 1.0, 2.1519736712498916e-17},
            {10, 1.0, 2.088487583762545e-45},
    };

    @Test
    void erfMatchesLibm() {
        for (double[] row : ERF) {
            double x = row[0];
            assertEquals(row[1], RefMath.erf(x), 1e-15, "erf(" + x + ")");
            assertEquals(-row[1], RefMath.erf(-x), 1e-15, "erf(-" + x + ")");
            assertEquals(row[2], RefMath.erfc(x), row[2] * 1e-12, "erfc(" + x + ") relative");
            assertEquals(2 - row[2], RefMath.erfc(-x), 1e-15, "erfc(-" + x + ")");
        }
        assertEquals(0.0, RefMath.erf(0.0), 0.0);
        assertEquals(1.0, RefMath.erf(Double.POSITIVE_INFINITY), 0.0);
        assertEquals(Double.NaN, RefMath.erf(Double.NaN));
    }

    /** x * Phi(x) with Phi the standard normal CDF, from glibc's erfc. */
    @Test
    void geluExactAtKnownValues() {
        double[][] gelu = {{1, 0.8413447460685429}, {-1, -0.15865525393145707}, {2, 1.9544997361036416},
                {-3, -0.004049694094890287}, {0.5, 0.34573123063700656}, {-6, -5.919525870226207e-09}, {0, 0}};
        for (double[] g : gelu) {
            assertEquals(g[1], RefMath.geluExact(g[0]), Math.abs(g[1]) * 1e-13 + 1e-300, "gelu(" + g[0] + ")");
        }
    }

    /** torch: gelu(x, approximate='tanh') = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); close to exact gelu. */
    @Test
    void geluTanhFormula() {
        for (double x = -5; x <= 5; x += 0.125) {
            double inner = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x);
            assertEquals(0.5 * x * (1 + Math.tanh(inner)), RefMath.geluTanh(x), 1e-15, "gelu_tanh(" + x + ")");
            assertEquals(RefMath.geluExact(x), RefMath.geluTanh(x), 1e-3, "tanh approximation near exact at " + x);
        }
    }

    @Test
    void siluAtKnownValues() {
        assertEquals(0.7310585786300049, RefMath.silu(1), 1e-16);         // 1 / (1 + e^-1)
        assertEquals(-0.2689414213699951, RefMath.silu(-1), 1e-16);       // -1 / (1 + e)
        assertEquals(0.0, RefMath.silu(0), 0.0);
        assertEquals(50.0, RefMath.silu(50), 1e-12);
        assertEquals(0.0, RefMath.silu(-800), 0.0);
    }
}
