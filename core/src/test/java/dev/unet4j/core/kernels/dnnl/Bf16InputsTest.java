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

    @Test
    void bf16RoundingHelperIsRoundToNearestEven() {
        assertTrue(bf16(1f + 1f / 512) == 1f, "tie to even (down)");
        assertTrue(bf16(1f + 3f / 512) == 1f + 4f / 512, "tie to even (up)");
        assertTrue(bf16(1f + 1.5f / 256) == 1f + 2f / 256, "above half rounds up");
    }
}
