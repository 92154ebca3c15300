package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.ReferenceTestSupport.K;
import static dev.unet4j.core.kernels.ReferenceTestSupport.assertClose;
import static dev.unet4j.core.kernels.ReferenceTestSupport.assertRejects;
import static dev.unet4j.core.kernels.ReferenceTestSupport.nhwc;
import static dev.unet4j.core.kernels.ReferenceTestSupport.random;
import static dev.unet4j.core.kernels.ReferenceTestSupport.run;
import static dev.unet4j.core.kernels.ReferenceTestSupport.s;
import static dev.unet4j.core.kernels.ReferenceTestSupport.t;
import static dev.unet4j.core.kernels.ReferenceTestSupport.ws;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReferenceNormActivationTest {

    /**
     * x = [1, 2, 3, 4] as [1, 2, 1, 2]. One group: mean 2.5, biased variance 1.25 → (x - 2.5) / sqrt(1.25).
     * Two groups: [1, 2] and [3, 4], each mean ±0.5 around its centre, variance 0.25 → [-1, 1, -1, 1]; with eps 0.75
     * inside the square root: (x - mean) / sqrt(0.25 + 0.75) = [-0.5, 0.5, -0.5, 0.5].
     */
    @Test
    void groupNormHandComputed() {
        try (Tensor x = t(new float[]{1, 2, 3, 4}, 1, 2, 1, 2)) {
            double r = Math.sqrt(1.25);
            assertClose(new double[]{-1.5 / r, -0.5 / r, 0.5 / r, 1.5 / r},
                    run(s(1, 2, 1, 2), ws -> K.groupNorm(ws, x, 1, null, null, 0f, false)), 1e-7, "1 group");
            assertArrayEquals(new float[]{-1, 1, -1, 1}, run(s(1, 2, 1, 2), ws -> K.groupNorm(ws, x, 2, null, null, 0f, false)), 1e-7f);
            assertArrayEquals(new float[]{-0.5f, 0.5f, -0.5f, 0.5f},
                    run(s(1, 2, 1, 2), ws -> K.groupNorm(ws, x, 2, null, null, 0.75f, false)), 1e-7f);
        }
    }

    /** Per (sample, group): mean 0 and variance 1 before the affine; then y * gamma[c] + beta[c]; then SiLU. */
    @Test
    void groupNormStatisticsAffineAndSilu() {
        int n = 2, c = 6, h = 3, w = 4, groups = 3, per = c / groups * h * w;
        float[] x = random(20, n * c * h * w);
        for (int i = 0; i < x.length; i++) x[i] = x[i] * 3 + (i / per) * 5; // distinct scale and offset per group
        float[] gamma = random(21, c), beta = random(22, c);
        try (Tensor xt = nhwc(x, n, c, h, w); Tensor g = t(gamma, c); Tensor b = t(beta, c)) {
            float[] y = run(s(n, c, h, w), ws -> K.groupNorm(ws, xt, groups, null, null, 1e-6f, false));
            for (int grp = 0; grp < n * groups; grp++) {
                double sum = 0, sq = 0;
                for (int i = grp * per; i < (grp + 1) * per; i++) sum += y[i];
                for (int i = grp * per; i < (grp + 1) * per; i++) sq += (y[i] - sum / per) * (y[i] - sum / per);
                assertEquals(0, sum / per, 1e-6, "group " + grp + " mean");
                assertEquals(1, sq / per, 1e-5, "group " + grp + " variance");
            }
            float[] affine = run(s(n, c, h, w), ws -> K.groupNorm(ws, xt, groups, g, b, 1e-6f, false));
            float[] silu = run(s(n, c, h, w), ws -> K.groupNorm(ws, xt, groups, g, b, 1e-6f, true));
            for (int i = 0; i < y.length; i++) {
                int ch = (i / (h * w)) % c;
                double a = (double) y[i] * gamma[ch] + beta[ch];
                assertEquals(a, affine[i], 2e-6, "affine[" + i + "]");
                assertEquals(a / (1 + Math.exp(-a)), silu[i], 2e-6, "silu[" + i + "]");
            }
        }
    }

    /** GroupNorm also normalises [N, C, L] inputs (channels then positions). */
    @Test
    void groupNormOn3d() {
        try (Tensor x = t(new float[]{1, 3, 10, 30}, 1, 2, 2)) {
            assertArrayEquals(new float[]{-1, 1, -1, 1}, run(s(1, 2, 2), ws -> K.groupNorm(ws, x, 2, null, null, 0f, false)), 1e-7f);
        }
    }

    @Test
    void layerNormOverLastDimension() {
        float[] x = random(23, 2 * 3 * 8);
        for (int i = 0; i < x.length; i++) x[i] = x[i] * 2 + i / 8;
        float[] gamma = random(24, 8), beta = random(25, 8);
        try (Tensor xt = t(x, 2, 3, 8); Tensor g = t(gamma, 8); Tensor b = t(beta, 8)) {
            float[] y = run(s(2, 3, 8), ws -> K.layerNorm(ws, xt, null, null, 1e-5f));
            for (int row = 0; row < 6; row++) {
                double sum = 0, sq = 0;
                for (int i = 0; i < 8; i++) sum += y[row * 8 + i];
                for (int i = 0; i < 8; i++) sq += Math.pow(y[row * 8 + i] - sum / 8, 2);
                assertEquals(0, sum / 8, 1e-6, "row " + row + " mean");
                assertEquals(1, sq / 8, 2e-5, "row " + row + " variance"); // sigma^2 / (sigma^2 + 1e-5)
            }
            float[] affine = run(s(2, 3, 8), ws -> K.layerNorm(ws, xt, g, b, 1e-5f));
            for (int i = 0; i < y.length; i++) assertEquals((double) y[i] * gamma[i % 8] + beta[i % 8], affine[i], 2e-6, "affine[" + i + "]");
        }
        // hand case: [1, 2, 3, 4], eps 0 → (x - 2.5) / sqrt(1.25)
        try (Tensor hand = t(new float[]{1, 2, 3, 4}, 1, 4)) {
            double r = Math.sqrt(1.25);
            assertClose(new double[]{-1.5 / r, -0.5 / r, 0.5 / r, 1.5 / r}, run(s(1, 4), ws -> K.layerNorm(ws, hand, null, null, 0f)), 1e-7, "layerNorm");
        }
    }

    @Test
    void normsRejectBadShapes() {
        try (Workspace ws = ws(); Tensor x = Tensor.zeros(1, 6, 2, 2); Tensor g = Tensor.zeros(5)) {
            assertRejects("groupNorm", () -> K.groupNorm(ws, x, 4, null, null, 1e-5f, false), "[1, 6, 2, 2]", "4 groups");
            assertRejects("groupNorm", () -> K.groupNorm(ws, x, 3, g, null, 1e-5f, false), "gamma", "[5]", "[6]");
            assertRejects("layerNorm", () -> K.layerNorm(ws, x, g, null, 1e-5f), "[5]", "[2]");
        }
    }

    @Test
    void activationsAtKnownValues() {
        // x*Phi(x) for gelu (glibc erfc), 1/(1+e^-x) for silu
        try (Tensor x = t(new float[]{1, -1, 2, -3, 0, 0.5f}, 2, 3)) {
            assertClose(new double[]{0.8413447460685429, -0.15865525393145707, 1.9544997361036416, -0.004049694094890287, 0, 0.34573123063700656},
                    run(s(2, 3), ws -> K.gelu(ws, x, true)), 1e-7, "gelu exact");
            double[] tanh = new double[6];
            float[] xv = {1, -1, 2, -3, 0, 0.5f};
            for (int i = 0; i < 6; i++) tanh[i] = 0.5 * xv[i] * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (xv[i] + 0.044715 * Math.pow(xv[i], 3))));
            assertClose(tanh, run(s(2, 3), ws -> K.gelu(ws, x, false)), 1e-7, "gelu tanh");
            assertClose(new double[]{0.7310585786300049, -0.2689414213699951, 2 / (1 + Math.exp(-2)), -3 / (1 + Math.exp(3)), 0, 0.5 / (1 + Math.exp(-0.5))},
                    run(s(2, 3), ws -> K.silu(ws, x)), 1e-7, "silu");
            double[] quickGelu = new double[6];
            for (int i = 0; i < 6; i++) quickGelu[i] = xv[i] / (1 + Math.exp(-1.702 * xv[i]));
            assertClose(quickGelu, run(s(2, 3), ws -> K.swish(ws, x, 1.702f)), 1e-7, "swish 1.702 (quick_gelu)");
            // the interface's three-pass default, silu(beta x) / beta, on the same values
            Kernels composed = (Kernels) java.lang.reflect.Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[]{Kernels.class},
                    (proxy, m, a) -> m.getName().equals("swish") ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, a) : m.invoke(K, a));
            assertClose(quickGelu, run(s(2, 3), ws -> composed.swish(ws, x, 1.702f)), 1e-6, "default swish");
        }
    }

    /** GEGLU: value half first. Row [h0, h1, g0, g1] = [2, -4, 1, -1] → [2 gelu(1), -4 gelu(-1)]. */
    @Test
    void gegluValueHalfFirst() {
        float[] x = random(26, 2 * 3 * 8);
        x[0] = 2;
        x[1] = -4;
        x[4] = 1;
        x[5] = -1;
        try (Tensor xt = t(x, 2, 3, 8)) {
            float[] y = run(s(2, 3, 4), ws -> K.geglu(ws, xt));
            assertEquals(2 * 0.8413447460685429, y[0], 1e-6);
            assertEquals(-4 * -0.15865525393145707, y[1], 1e-6);
            for (int row = 0; row < 6; row++) {
                for (int i = 0; i < 4; i++) {
                    double h = x[row * 8 + i], gate = x[row * 8 + 4 + i];
                    assertEquals(h * RefMath.geluExact(gate), y[row * 4 + i], 1e-6, "geglu[" + row + "][" + i + "]");
                }
            }
        }
        try (Workspace ws = ws(); Tensor odd = Tensor.zeros(2, 5)) {
            assertRejects("geglu", () -> K.geglu(ws, odd), "[2, 5]");
        }
    }

    @Test
    void softmaxRows() {
        float[] x = random(27, 4 * 9);
        for (int i = 0; i < x.length; i++) x[i] *= 4;
        try (Tensor xt = t(x, 2, 2, 9)) {
            float[] y = run(s(2, 2, 9), ws -> K.softmax(ws, xt));
            for (int row = 0; row < 4; row++) {
                double sum = 0, total = 0;
                for (int i = 0; i < 9; i++) sum += Math.exp(x[row * 9 + i]);
                for (int i = 0; i < 9; i++) {
                    assertEquals(Math.exp(x[row * 9 + i]) / sum, y[row * 9 + i], 1e-7, "softmax[" + row + "][" + i + "]");
                    total += y[row * 9 + i];
                }
                assertEquals(1, total, 1e-6, "row " + row + " sums to 1");
            }
        }
        // max subtraction: no overflow at 1000; -inf gets probability 0
        try (Tensor big = t(new float[]{1000, 1001, Float.NEGATIVE_INFINITY}, 1, 3)) {
            float[] y = run(s(1, 3), ws -> K.softmax(ws, big));
            assertArrayEquals(new float[]{0.26894142f, 0.73105858f, 0}, y, 1e-7f); // 1/(1+e), e/(1+e)
            assertTrue(Float.isFinite(y[0]));
        }
    }
}
