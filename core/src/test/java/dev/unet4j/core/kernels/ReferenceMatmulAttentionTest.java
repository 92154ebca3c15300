package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.ReferenceTestSupport.K;
import static dev.unet4j.core.kernels.ReferenceTestSupport.assertClose;
import static dev.unet4j.core.kernels.ReferenceTestSupport.assertRejects;
import static dev.unet4j.core.kernels.ReferenceTestSupport.random;
import static dev.unet4j.core.kernels.ReferenceTestSupport.run;
import static dev.unet4j.core.kernels.ReferenceTestSupport.s;
import static dev.unet4j.core.kernels.ReferenceTestSupport.t;
import static dev.unet4j.core.kernels.ReferenceTestSupport.ws;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class ReferenceMatmulAttentionTest {

    /** alpha * a @ b by the textbook triple loop; {@code b} given as [Bb, K, N] values, Bb = 1 broadcasting. */
    private static double[] tripleLoop(float[] a, float[] b, int batch, int m, int k, int n, boolean bBroadcast, double alpha) {
        double[] c = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) acc += (double) a[(bi * m + i) * k + p] * b[((bBroadcast ? 0 : bi) * k + p) * n + j];
                    c[(bi * m + i) * n + j] = alpha * acc;
                }
        return c;
    }

    private static float[] transposeLast2(float[] v, int batch, int rows, int cols) {
        float[] out = new float[v.length];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) out[(b * cols + c) * rows + r] = v[(b * rows + r) * cols + c];
        return out;
    }

    @Test
    void matmulAgainstTripleLoop() {
        int batch = 3, m = 4, k = 5, n = 6;
        float[] a = random(30, batch * m * k), b = random(31, batch * k * n), b1 = random(32, k * n);
        try (Tensor at = t(a, batch, m, k); Tensor bt = t(b, batch, k, n); Tensor bT = t(transposeLast2(b, batch, k, n), batch, n, k);
             Tensor b1t = t(b1, 1, k, n); Tensor b1T = t(transposeLast2(b1, 1, k, n), 1, n, k)) {
            double[] want = tripleLoop(a, b, batch, m, k, n, false, 0.5);
            assertClose(want, run(s(batch, m, n), ws -> K.matmul(ws, at, bt, false, 0.5f)), 1e-6, "a@b");
            assertClose(want, run(s(batch, m, n), ws -> K.matmul(ws, at, bT, true, 0.5f)), 1e-6, "a@bT^T");
            // b as a transposed view of bT (strides, no copy) gives the same numbers
            Tensor bView = bT.permute(0, 2, 1);
            assertClose(want, run(s(batch, m, n), ws -> K.matmul(ws, at, bView, false, 0.5f)), 1e-6, "a@view");
            double[] wantB = tripleLoop(a, b1, batch, m, k, n, true, -2);
            assertClose(wantB, run(s(batch, m, n), ws -> K.matmul(ws, at, b1t, false, -2f)), 1e-5, "broadcast b");
            assertClose(wantB, run(s(batch, m, n), ws -> K.matmul(ws, at, b1T, true, -2f)), 1e-5, "broadcast b^T");
        }
    }

    @Test
    void matmulRejectsBadShapes() {
        try (Workspace ws = ws(); Tensor a = Tensor.zeros(2, 3, 4); Tensor b = Tensor.zeros(2, 5, 6); Tensor b3 = Tensor.zeros(3, 4, 6);
             Tensor flat = Tensor.zeros(3, 4)) {
            assertRejects("matmul", () -> K.matmul(ws, a, b, false, 1f), "[2, 3, 4]", "[2, 5, 6]");
            assertRejects("matmul", () -> K.matmul(ws, a, b3, false, 1f), "[3, 4, 6]");
            assertRejects("matmul", () -> K.matmul(ws, a, flat, false, 1f), "[3, 4]");
        }
    }

    /** softmax(scale * q.k + bias) v per head, spelled out with exp and sums in double. */
    private static double[] attentionInline(float[] q, float[] k, float[] v, float[] bias, int batch, int tq, int tk, int heads, int d, double scale) {
        return attentionInline(q, k, v, bias, false, batch, tq, tk, heads, d, scale);
    }

    /** As above; {@code perQuery}: {@code bias} is {@code [B, Tq, Tk]}, else {@code [B, Tk]}. */
    private static double[] attentionInline(float[] q, float[] k, float[] v, float[] bias, boolean perQuery, int batch, int tq, int tk,
                                            int heads, int d, double scale) {
        int width = heads * d;
        double[] out = new double[batch * tq * width];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++) {
                    double[] w = new double[tk];
                    double total = 0;
                    for (int j = 0; j < tk; j++) {
                        double dot = 0;
                        for (int t = 0; t < d; t++) dot += (double) q[(b * tq + i) * width + h * d + t] * k[(b * tk + j) * width + h * d + t];
                        w[j] = Math.exp(scale * dot + (bias == null ? 0 : bias[(perQuery ? b * tq + i : b) * tk + j]));
                        total += w[j];
                    }
                    for (int t = 0; t < d; t++) {
                        double acc = 0;
                        for (int j = 0; j < tk; j++) acc += w[j] / total * v[(b * tk + j) * width + h * d + t];
                        out[(b * tq + i) * width + h * d + t] = acc;
                    }
                }
        return out;
    }

    @Test
    void attentionAgainstInlineSoftmax() {
        int batch = 2, tq = 5, tk = 7, heads = 3, d = 4, width = heads * d;
        float[] q = random(33, batch * tq * width), k = random(34, batch * tk * width), v = random(35, batch * tk * width);
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor qt = t(q, batch, tq, width); Tensor kt = t(k, batch, tk, width); Tensor vt = t(v, batch, tk, width)) {
            assertClose(attentionInline(q, k, v, null, batch, tq, tk, heads, d, scale),
                    run(s(batch, tq, width), ws -> K.attention(ws, qt, kt, vt, heads, scale, null)), 1e-6, "attention");
        }
        float[] bias = random(36, batch * tk);
        try (Tensor qt = t(q, batch, tq, width); Tensor kt = t(k, batch, tk, width); Tensor vt = t(v, batch, tk, width);
             Tensor bt = t(bias, batch, tk)) {
            assertClose(attentionInline(q, k, v, bias, batch, tq, tk, heads, d, 0.7),
                    run(s(batch, tq, width), ws -> K.attention(ws, qt, kt, vt, heads, 0.7f, bt)), 1e-6, "attention with bias");
        }
    }

    @Test
    void attentionWithPerQueryBias() {
        int batch = 2, tq = 5, tk = 7, heads = 3, d = 4, width = heads * d;
        float[] q = random(43, batch * tq * width), k = random(44, batch * tk * width), v = random(45, batch * tk * width);
        float[] bias = random(46, batch * tq * tk);
        try (Tensor qt = t(q, batch, tq, width); Tensor kt = t(k, batch, tk, width); Tensor vt = t(v, batch, tk, width);
             Tensor bt = t(bias, batch, tq, tk)) {
            assertClose(attentionInline(q, k, v, bias, true, batch, tq, tk, heads, d, 0.6),
                    run(s(batch, tq, width), ws -> K.attention(ws, qt, kt, vt, heads, 0.6f, bt)), 1e-6, "attention with a per-query bias");
        }
    }

    /** With a single key the softmax weight is 1, so every query of every head returns v. */
    @Test
    void singleKeyReturnsV() {
        float[] q = random(37, 2 * 4 * 6), k = random(38, 2 * 6), v = random(39, 2 * 6);
        float[] want = new float[2 * 4 * 6];
        for (int b = 0; b < 2; b++) for (int i = 0; i < 4; i++) System.arraycopy(v, b * 6, want, (b * 4 + i) * 6, 6);
        try (Tensor qt = t(q, 2, 4, 6); Tensor kt = t(k, 2, 1, 6); Tensor vt = t(v, 2, 1, 6)) {
            assertArrayEquals(want, run(s(2, 4, 6), ws -> K.attention(ws, qt, kt, vt, 2, 0.4f, null)), 1e-7f);
        }
    }

    /** A -inf bias drops its key: same result as attention over the remaining keys only. */
    @Test
    void minusInfinityBiasDropsKeys() {
        int tq = 3, tk = 4, width = 8, heads = 2;
        float[] q = random(40, tq * width), k = random(41, tk * width), v = random(42, tk * width);
        float[] bias = {0, Float.NEGATIVE_INFINITY, 0, Float.NEGATIVE_INFINITY};
        float[] kKept = new float[2 * width], vKept = new float[2 * width];
        System.arraycopy(k, 0, kKept, 0, width);
        System.arraycopy(k, 2 * width, kKept, width, width);
        System.arraycopy(v, 0, vKept, 0, width);
        System.arraycopy(v, 2 * width, vKept, width, width);
        try (Tensor qt = t(q, 1, tq, width); Tensor kt = t(k, 1, tk, width); Tensor vt = t(v, 1, tk, width); Tensor bt = t(bias, 1, tk);
             Tensor k2 = t(kKept, 1, 2, width); Tensor v2 = t(vKept, 1, 2, width)) {
            float[] masked = run(s(1, tq, width), ws -> K.attention(ws, qt, kt, vt, heads, 0.5f, bt));
            float[] kept = run(s(1, tq, width), ws -> K.attention(ws, qt, k2, v2, heads, 0.5f, null));
            assertArrayEquals(kept, masked, 1e-7f);
        }
    }

    @Test
    void attentionRejectsBadShapes() {
        try (Workspace ws = ws(); Tensor q = Tensor.zeros(1, 2, 6); Tensor k = Tensor.zeros(1, 3, 6); Tensor v = Tensor.zeros(1, 4, 6);
             Tensor bias = Tensor.zeros(1, 4)) {
            assertRejects("attention", () -> K.attention(ws, q, k, k, 4, 1f, null), "[1, 2, 6]", "4 heads");
            assertRejects("attention", () -> K.attention(ws, q, k, v, 2, 1f, null), "[1, 3, 6]", "[1, 4, 6]");
            assertRejects("attention", () -> K.attention(ws, q, k, k, 2, 1f, bias), "[1, 4]", "[1, 3]");
            try (Tensor perQuery = Tensor.zeros(1, 3, 3)) {
                assertRejects("attention", () -> K.attention(ws, q, k, k, 2, 1f, perQuery), "[1, 3, 3]", "[1, 2, 3]");
            }
        }
    }
}
