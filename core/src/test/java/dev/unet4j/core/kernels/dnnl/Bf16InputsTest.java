package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 compute by bf16 inputs ({@link Dnnl#BF16_INPUTS}, what AVX-512 BF16 CPUs without AMX get): a convolution
 * and a linear layer equal the plain-Java reference on inputs and weights rounded to bf16 (round to nearest even)
 * with float32 accumulation, and differ from float32 compute by bf16 rounding. Needs bf16 instructions (oneDNN
 * has no bf16 convolution below AVX-512 BF16; {@code --quant bf16} runs and reports float32 there).
 */
class Bf16InputsTest {

    /** Round to the nearest bf16 (ties to even), the conversion oneDNN's reorder applies. */
    static float bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return Float.intBitsToFloat(rounded & 0xffff0000);
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static float[] rounded(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) b[i] = bf16(a[i]);
        return b;
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static float[] conv(Kernels k, Conv2dSpec spec, float[] w, float[] b, float[] x, long[] xShape) {
        try (Workspace ws = k.newWorkspace(Allocator.direct());
             Tensor wt = Tensor.of(w, spec.weightShape()); Tensor bt = Tensor.of(b, spec.outChannels());
             Tensor xt = Tensor.of(x, xShape); Conv2d c = k.conv2d(spec, wt, bt); Tensor y = c.forward(ws, xt)) {
            return y.toFloatArray();
        }
    }

    static float[] linear(Kernels k, float[] w, float[] b, int out, int in, float[] x, int rows) {
        try (Workspace ws = k.newWorkspace(Allocator.direct());
             Tensor wt = Tensor.of(w, out, in); Tensor bt = Tensor.of(b, out);
             Tensor xt = Tensor.of(x, rows, in); Linear l = k.linear(wt, bt); Tensor y = l.forward(ws, xt)) {
            return y.toFloatArray();
        }
    }

    @Test
    void convolutionAndLinearComputeOnBf16Inputs() {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuFeatures.hasBf16Instructions(),
                "oneDNN has no bf16 convolution on " + CpuFeatures.isa() + " (bf16 compute reports float32 there)");
        Random r = new Random(7);
        Conv2dSpec spec = Conv2dSpec.of(32, 48, 3, 1, 1);
        long[] xShape = {2, 32, 12, 10};
        float[] w = random(r, (int) Tensor.numel(spec.weightShape())), b = random(r, 48), x = random(r, 2 * 32 * 12 * 10);
        int in = 64, out = 40, rows = 37;
        float[] lw = random(r, out * in), lb = random(r, out), lx = random(r, rows * in);
        ReferenceKernels ref = new ReferenceKernels();
        float[] convRef = conv(ref, spec, rounded(w), b, rounded(x), xShape);
        float[] convF32 = conv(ref, spec, w, b, x, xShape);
        float[] linRef = linear(ref, rounded(lw), lb, out, in, rounded(lx), rows);
        float[] linF32 = linear(ref, lw, lb, out, in, lx, rows);
        try (DnnlKernels k = new DnnlKernels(new DnnlKernels.Options(true), Dnnl.BF16_INPUTS)) {
            float[] convBf16 = conv(k, spec, w, b, x, xShape);
            float[] linBf16 = linear(k, lw, lb, out, in, lx, rows);
            double scaleC = maxAbs(convRef), scaleL = maxAbs(linRef);
            // same products, float32 sums in another order: ~1e-6 relative; bf16 rounding itself is ~4e-3 per input
            assertTrue(maxAbsDiff(convBf16, convRef) <= 2e-5 * scaleC, "conv vs bf16-input reference: " + maxAbsDiff(convBf16, convRef));
            assertTrue(maxAbsDiff(linBf16, linRef) <= 2e-5 * scaleL, "linear vs bf16-input reference: " + maxAbsDiff(linBf16, linRef));
            assertTrue(maxAbsDiff(convBf16, convF32) >= 1e-3 * scaleC, "conv really rounded: " + maxAbsDiff(convBf16, convF32));
            assertTrue(maxAbsDiff(linBf16, linF32) >= 1e-3 * scaleL, "linear really rounded: " + maxAbsDiff(linBf16, linF32));
        }
    }

    /**
     * Multi-head attention on bf16 inputs, written out: scores {@code scale * q.k} from bf16-rounded q and k (exact
     * products, double sums), softmax in double, the probabilities rounded to bf16 (the source of the P.V matmul),
     * times bf16-rounded v. {@code [B, T, H*D]} tensors.
     */
    static float[] attentionOnBf16Inputs(float[] q, float[] k, float[] v, int b, int tq, int tk, int heads, int d, float scale, boolean round) {
        int c = heads * d;
        float[] out = new float[b * tq * c];
        for (int bi = 0; bi < b; bi++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < tq; i++) {
                    double[] sc = new double[tk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < tk; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            float qa = q[(bi * tq + i) * c + h * d + e], ka = k[(bi * tk + j) * c + h * d + e];
                            dot += (double) (round ? bf16(qa) : qa) * (round ? bf16(ka) : ka);
                        }
                        sc[j] = scale * (double) (float) dot;
                        max = Math.max(max, sc[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < tk; j++) sum += sc[j] = Math.exp(sc[j] - max);
                    for (int e = 0; e < d; e++) {
                        double acc = 0;
                        for (int j = 0; j < tk; j++) {
                            float pj = (float) (sc[j] / sum), vj = v[(bi * tk + j) * c + h * d + e];
                            acc += (double) (round ? bf16(pj) : pj) * (round ? bf16(vj) : vj);
                        }
                        out[(bi * tq + i) * c + h * d + e] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    static float[] attention(DnnlKernels k, float[] q, float[] kk, float[] v, int b, int tq, int tk, int heads, int c, float scale) {
        try (Workspace ws = k.newWorkspace(Allocator.direct());
             Tensor qt = Tensor.of(q, b, tq, c); Tensor kt = Tensor.of(kk, b, tk, c); Tensor vt = Tensor.of(v, b, tk, c);
             Tensor y = k.attention(ws, qt, kt, vt, heads, scale, null)) {
            return y.toFloatArray();
        }
    }

    @Test
    void attentionComputesOnBf16Inputs() {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuFeatures.hasBf16Instructions(),
                "oneDNN has no bf16 matmul on " + CpuFeatures.isa());
        Random r = new Random(11);
        int b = 2, tq = 50, tk = 37, heads = 4, d = 8, c = heads * d;
        float scale = (float) (1 / Math.sqrt(d));
        float[] q = random(r, b * tq * c), k = random(r, b * tk * c), v = random(r, b * tk * c);
        float[] ref = attentionOnBf16Inputs(q, k, v, b, tq, tk, heads, d, scale, true);
        float[] f32 = attentionOnBf16Inputs(q, k, v, b, tq, tk, heads, d, scale, false);
        double range = maxAbs(ref);
        // all heads in one block; and one (batch, head) at a time in chunks of 16 query rows (a tail of 2): a score
        // budget of 16 rows x 37 keys
        for (long budget : new long[] {DnnlKernels.Options.DEFAULT_ATTENTION_SCORE_BYTES, 4L * 16 * tk}) {
            try (DnnlKernels kernels = new DnnlKernels(new DnnlKernels.Options(true, budget), Dnnl.BF16_INPUTS)) {
                float[] got = attention(kernels, q, k, v, b, tq, tk, heads, c, scale);
                // same bf16 products, float32 sums in another order (~1e-6); a probability on the other side of a bf16
                // rounding boundary would move an output by ~2^-9 of one term, far below bf16 rounding itself (~1e-2)
                assertTrue(maxAbsDiff(got, ref) <= 2e-4 * range, "budget " + budget + ": vs bf16-input attention " + maxAbsDiff(got, ref));
                assertTrue(maxAbsDiff(got, f32) >= 1e-3 * range, "budget " + budget + ": really rounded " + maxAbsDiff(got, f32));
            }
        }
    }

    @Test
    void bf16RoundingHelperIsRoundToNearestEven() {
        assertTrue(bf16(1f + 1f / 512) == 1f, "tie to even (down)");
        assertTrue(bf16(1f + 3f / 512) == 1f + 4f / 512, "tie to even (up)");
        assertTrue(bf16(1f + 1.5f / 256) == 1f + 2f / 256, "above half rounds up");
    }
}
