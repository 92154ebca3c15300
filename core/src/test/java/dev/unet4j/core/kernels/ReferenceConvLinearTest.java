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
import static org.junit.jupiter.api.Assertions.assertThrows;

class ReferenceConvLinearTest {

    private static float[] conv(Conv2dSpec spec, Tensor x, float[] w, float[] b, long[] outShape) {
        try (Tensor wt = t(w, spec.weightShape()); Tensor bt = b == null ? null : t(b, spec.outChannels());
             Conv2d c = K.conv2d(spec, wt, bt)) {
            return run(outShape, ws -> c.forward(ws, x));
        }
    }

    /**
     * x = [[1,2,3],[4,5,6],[7,8,9]], kernel [[1,2,0],[0,1,0],[-1,0,1]], bias 0.5, padding 1. By hand:
     * y[0][0] = 1*x00 + 1*x11 = 1 + 5 (+0.5) = 6.5 (the other taps fall on padding);
     * y[1][1] = x00 + 2 x01 + x11 - x20 + x22 = 1 + 4 + 5 - 7 + 9 (+0.5) = 12.5;
     * y[2][2] = x11 + 2 x12 + x22 = 5 + 12 + 9 (+0.5) = 26.5; and likewise for the rest.
     */
    @Test
    void handComputed3x3WithPadding() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        try (Tensor xt = t(x, 1, 1, 3, 3)) {
            float[] y = conv(Conv2dSpec.of(1, 1, 3, 1, 1), xt, new float[]{1, 2, 0, 0, 1, 0, -1, 0, 1}, new float[]{0.5f}, s(1, 1, 3, 3));
            assertArrayEquals(new float[]{6.5f, 4.5f, -1.5f, 14.5f, 12.5f, 6.5f, 15.5f, 22.5f, 26.5f}, y, 0f);
        }
    }

    /**
     * diffusers' downsample_padding=0: pad right and bottom by one, 3x3 all-ones kernel, stride 2, on x = 0..15 (4x4).
     * y00 = sum x[0..2][0..2] = 45; y01 = x[0..2][2..3] = 2+3+6+7+10+11 = 39; y10 = x[2..3][0..2] = 8+9+10+12+13+14 = 66;
     * y11 = x[2..3][2..3] = 10+11+14+15 = 50.
     */
    @Test
    void asymmetricPaddingStride2() {
        float[] x = new float[16];
        for (int i = 0; i < 16; i++) x[i] = i;
        Conv2dSpec spec = new Conv2dSpec(1, 1, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1);
        float[] ones = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        try (Tensor xt = t(x, 1, 1, 4, 4)) {
            assertArrayEquals(new float[]{45, 39, 66, 50}, conv(spec, xt, ones, null, s(1, 1, 2, 2)), 0f);
        }
        // with padding on the top/left instead, the windows shift: y00 = x[0..1][0..1] = 0+1+4+5 = 10
        Conv2dSpec topLeft = new Conv2dSpec(1, 1, 3, 3, 2, 2, 1, 0, 1, 0, 1, 1, 1);
        try (Tensor xt = t(x, 1, 1, 4, 4)) {
            float[] y = conv(topLeft, xt, ones, null, s(1, 1, 2, 2));
            assertArrayEquals(new float[]{10, 1 + 2 + 3 + 5 + 6 + 7, 4 + 5 + 8 + 9 + 12 + 13, 5 + 6 + 7 + 9 + 10 + 11 + 13 + 14 + 15}, y, 0f);
        }
    }

    /** Dilation 2, 2x2 kernel [1,2,3,4] on x = 1..9 (3x3): taps x00, x02, x20, x22 → 1*1 + 2*3 + 3*7 + 4*9 = 64. */
    @Test
    void dilation() {
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        Conv2dSpec spec = new Conv2dSpec(1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1);
        try (Tensor xt = t(x, 1, 1, 3, 3)) {
            assertArrayEquals(new float[]{64}, conv(spec, xt, new float[]{1, 2, 3, 4}, null, s(1, 1, 1, 1)), 0f);
        }
    }

    /** Two groups, 4 -> 2 channels, 1x1: y0 = x0 + 10 x1 (+1), y1 = 100 x2 + 1000 x3 (-1): group g sees only its channels. */
    @Test
    void groupsKeepChannelsApart() {
        float[] x = {1, 2, /* c1 */ 3, 4, /* c2 */ 5, 6, /* c3 */ 7, 8}; // [1, 4, 1, 2]
        Conv2dSpec spec = new Conv2dSpec(4, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
        try (Tensor xt = t(x, 1, 4, 1, 2)) {
            float[] y = conv(spec, xt, new float[]{1, 10, 100, 1000}, new float[]{1, -1}, s(1, 2, 1, 2));
            assertArrayEquals(new float[]{1 + 30 + 1, 2 + 40 + 1, 500 + 7000 - 1, 600 + 8000 - 1}, y, 0f);
        }
    }

    /** Depthwise (groups = channels) 3x3 with a centre-only kernel scales each channel by its own weight. */
    @Test
    void depthwiseCentreTap() {
        float[] x = random(1, 2 * 3 * 5 * 4);
        float[] w = new float[3 * 9];
        float[] gain = {2f, -0.5f, 3f};
        for (int c = 0; c < 3; c++) w[c * 9 + 4] = gain[c];
        Conv2dSpec spec = new Conv2dSpec(3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3);
        try (Tensor xt = t(x, 2, 3, 5, 4)) {
            float[] y = conv(spec, xt, w, null, s(2, 3, 5, 4));
            for (int i = 0; i < x.length; i++) assertEquals(x[i] * gain[(i / 20) % 3], y[i], 0f, "y[" + i + "]");
        }
    }

    /** A 1x1 identity kernel returns the input, also when the input is stored NHWC. */
    @Test
    void identityKernelReturnsInput() {
        float[] x = random(2, 2 * 3 * 4 * 5);
        float[] eye = {1, 0, 0, 0, 1, 0, 0, 0, 1};
        try (Tensor xt = nhwc(x, 2, 3, 4, 5)) {
            assertArrayEquals(x, conv(Conv2dSpec.of(3, 3, 1, 1, 0), xt, eye, null, s(2, 3, 4, 5)), 0f);
        }
    }

    /**
     * A general convolution (stride 2, asymmetric padding, dilation 2, 2 groups, 5x4 kernel on 11x11) against an
     * independent formulation: im2col columns built in the test, then one dot product per output in double.
     */
    @Test
    void generalConvMatchesIm2col() {
        int n = 2, cin = 4, cout = 6, h = 11, wd = 11, kh = 5, kw = 4, g = 2;
        Conv2dSpec spec = new Conv2dSpec(cin, cout, kh, kw, 2, 2, 2, 1, 3, 0, 2, 2, g);
        int oh = spec.outH(h), ow = spec.outW(wd);
        assertEquals(3, oh);  // (11 + 3 - 2*4 - 1) / 2 + 1
        assertEquals(4, ow);  // (11 + 3 - 2*3 - 1) / 2 + 1
        float[] x = random(3, n * cin * h * wd), w = random(4, cout * (cin / g) * kh * kw), b = random(5, cout);
        double[] want = new double[n * cout * oh * ow];
        int cg = cin / g;
        for (int in = 0; in < n; in++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++) {
                    for (int grp = 0; grp < g; grp++) {
                        double[] col = new double[cg * kh * kw]; // the receptive field, zero where it is padding
                        for (int c = 0; c < cg; c++) {
                            for (int a = 0; a < kh; a++) {
                                for (int bb = 0; bb < kw; bb++) {
                                    int iy = oy * 2 - 2 + a * 2, ix = ox * 2 - 3 + bb * 2;
                                    boolean inside = iy >= 0 && iy < h && ix >= 0 && ix < wd;
                                    col[(c * kh + a) * kw + bb] = inside ? x[((in * cin + grp * cg + c) * h + iy) * wd + ix] : 0;
                                }
                            }
                        }
                        for (int o = grp * (cout / g); o < (grp + 1) * (cout / g); o++) {
                            double acc = b[o];
                            for (int i = 0; i < col.length; i++) acc += col[i] * w[o * col.length + i];
                            want[((in * cout + o) * oh + oy) * ow + ox] = acc;
                        }
                    }
                }
            }
        }
        try (Tensor xt = t(x, n, cin, h, wd); Tensor xn = nhwc(x, n, cin, h, wd)) {
            float[] y = conv(spec, xt, w, b, s(n, cout, oh, ow));
            assertClose(want, y, 1e-5, "conv");
            assertArrayEquals(y, conv(spec, xn, w, b, s(n, cout, oh, ow)), 0f, "NHWC input gives the same result");
        }
    }

    /** {@code (conv + bias + residual) * scale}; the call-time-weight overload computes exactly what the prepared one does. */
    @Test
    void residualScaleAndCallTimeWeights() {
        Conv2dSpec spec = Conv2dSpec.of(3, 2, 3, 1, 1);
        float[] x = random(6, 3 * 5 * 5), w = random(7, 2 * 3 * 9), b = random(8, 2), r = random(9, 2 * 5 * 5);
        try (Tensor xt = t(x, 1, 3, 5, 5); Tensor wt = t(w, spec.weightShape()); Tensor bt = t(b, 2);
             Tensor rt = nhwc(r, 1, 2, 5, 5); Conv2d c = K.conv2d(spec, wt, bt)) {
            float[] plain = run(s(1, 2, 5, 5), ws -> c.forward(ws, xt));
            float[] fused = run(s(1, 2, 5, 5), ws -> c.forward(ws, xt, rt, 0.5f));
            for (int i = 0; i < plain.length; i++) assertEquals((plain[i] + (double) r[i]) * 0.5, fused[i], 2e-6, "fused[" + i + "]");
            float[] callTime = run(s(1, 2, 5, 5), ws -> K.conv2d(ws, spec, xt, wt, bt, rt, 0.5f));
            assertArrayEquals(fused, callTime, 0f);
        }
    }

    @Test
    void convRejectsBadShapes() {
        Conv2dSpec spec = Conv2dSpec.of(3, 2, 3, 1, 1);
        try (Workspace ws = ws(); Tensor w = Tensor.zeros(2, 3, 3, 3); Tensor badW = Tensor.zeros(2, 3, 1, 1);
             Tensor x = Tensor.zeros(1, 4, 5, 5); Tensor good = Tensor.zeros(1, 3, 5, 5); Tensor res = Tensor.zeros(1, 2, 4, 5);
             Conv2d c = K.conv2d(spec, w, null)) {
            assertRejects("conv2d", () -> c.forward(ws, x), "[1, 4, 5, 5]");
            assertRejects("conv2d", () -> K.conv2d(spec, badW, null), "[2, 3, 1, 1]", "[2, 3, 3, 3]");
            assertRejects("conv2d", () -> c.forward(ws, good, res, 1f), "[1, 2, 4, 5]", "[1, 2, 5, 5]");
            c.close();
            assertThrows(IllegalStateException.class, () -> c.forward(ws, good));
        }
    }

    // ------------------------------------------------------------ linear

    /** x = [1, 2], W = [[1,2],[3,4],[5,6]], b = [0.5, 0, -1]: y = [1+4+0.5, 3+8, 5+12-1] = [5.5, 11, 16]. */
    @Test
    void linearHandComputed() {
        try (Tensor x = t(new float[]{1, 2}, 1, 2); Tensor w = t(new float[]{1, 2, 3, 4, 5, 6}, 3, 2);
             Tensor b = t(new float[]{0.5f, 0, -1}, 3); Linear l = K.linear(w, b)) {
            assertEquals(2, l.inFeatures());
            assertEquals(3, l.outFeatures());
            assertArrayEquals(new float[]{5.5f, 11, 16}, run(s(1, 3), ws -> l.forward(ws, x)), 0f);
        }
    }

    /** [B, T, in] input, against an inline loop; residual and output scale; call-time weights equal prepared ones. */
    @Test
    void linearOverTokens() {
        int bt = 2 * 3, in = 7, out = 5;
        float[] x = random(10, bt * in), w = random(11, out * in), b = random(12, out), r = random(13, bt * out);
        double[] want = new double[bt * out];
        for (int i = 0; i < bt; i++) {
            for (int o = 0; o < out; o++) {
                double acc = b[o];
                for (int k = 0; k < in; k++) acc += (double) x[i * in + k] * w[o * in + k];
                want[i * out + o] = (acc + r[i * out + o]) * 2;
            }
        }
        // x as a permuted (non-contiguous) view of a [B, in, T] tensor
        float[] xT = new float[bt * in];
        for (int bb = 0; bb < 2; bb++) for (int tt = 0; tt < 3; tt++) for (int k = 0; k < in; k++) xT[(bb * in + k) * 3 + tt] = x[(bb * 3 + tt) * in + k];
        try (Tensor xs = t(xT, 2, in, 3); Tensor wt = t(w, out, in); Tensor bT = t(b, out); Tensor rt = t(r, 2, 3, out);
             Linear l = K.linear(wt, bT)) {
            Tensor xv = xs.permute(0, 2, 1);
            float[] y = run(s(2, 3, out), ws -> l.forward(ws, xv, rt, 2f));
            assertClose(want, y, 1e-5, "linear");
            assertArrayEquals(y, run(s(2, 3, out), ws -> K.linear(ws, xv, wt, bT, rt, 2f)), 0f);
        }
    }

    @Test
    void linearRejectsBadShapes() {
        try (Workspace ws = ws(); Tensor w = Tensor.zeros(3, 2); Tensor b = Tensor.zeros(2); Tensor x = Tensor.zeros(4, 5)) {
            assertRejects("linear", () -> K.linear(w, b), "[2]", "[3]");
            assertRejects("linear", () -> K.linear(ws, x, w, null, null, 1f), "[4, 5]");
        }
    }
}
