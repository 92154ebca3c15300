package dev.unet4j.core.kernels;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs one operation on {@link DnnlKernels} and on {@link ReferenceKernels} (the independent plain-Java truth) and
 * compares {@code max|dnnl - ref| / max|ref|}.
 */
public final class DnnlTestSupport {
    static final DnnlKernels DNNL = new DnnlKernels();
    static final ReferenceKernels REF = new ReferenceKernels();
    /** Exact float32 mode: only summation order differs from the double-accumulating reference. */
    static final double EXACT = 1e-5;

    private DnnlTestSupport() {
    }

    /** Tensors made for one test, closed together. */
    static final class Tensors implements AutoCloseable {
        private final List<Tensor> owned = new ArrayList<>();
        private final Random random;

        Tensors(long seed) {
            random = new Random(seed);
        }

        /** Gaussian values, row-major. */
        Tensor randn(long... shape) {
            return keep(Tensor.of(values(Tensor.numel(shape)), shape));
        }

        /** Gaussian values in a channels-last (NHWC) tensor. */
        Tensor randnNhwc(long n, long c, long h, long w) {
            Tensor t = keep(Tensor.allocateChannelsLast(Allocator.direct(), n, c, h, w));
            t.setFrom(values(n * c * h * w));
            return t;
        }

        /** Gaussian values in a non-dense strided view: {@code shape} padded by 3 in the last storage dimension. */
        Tensor randnPadded(long... shape) {
            long[] big = shape.clone();
            big[big.length - 1] += 3;
            Tensor base = keep(Tensor.of(values(Tensor.numel(big)), big));
            Tensor v = base;
            return v.narrow(shape.length - 1, 1, shape[shape.length - 1]);
        }

        float[] values(long n) {
            float[] v = new float[Math.toIntExact(n)];
            for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
            return v;
        }

        <T extends Tensor> T keep(T t) {
            owned.add(t);
            return t;
        }

        @Override
        public void close() {
            for (Tensor t : owned) t.close();
        }
    }

    /**
     * {@code x} after symmetric per-tensor int8 quantisation with {@code s = max|x| / 127}:
     * {@code rint(clamp(x * (1/s), -127, 127)) * s}, the operand an s8 x s8 layer stands for.
     */
    public static Tensor quantizeDequantize(Tensor x) {
        float[] v = x.toFloatArray();
        float absMax = 0;
        for (float f : v) absMax = Math.max(absMax, Math.abs(f));
        float s = absMax / 127f;
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.rint(Math.max(-127f, Math.min(127f, v[i] * (1f / s)))) * s;
        return Tensor.of(v, x.shape());
    }

    /** {@code n} random int8 weight codes in [-127, 127]. */
    static byte[] int8Codes(Random r, int n) {
        byte[] q = new byte[n];
        for (int i = 0; i < n; i++) q[i] = (byte) (r.nextInt(255) - 127);
        return q;
    }

    /** {@code n} random per-output-channel weight scales in [0.002, 0.012). */
    static float[] channelScales(Random r, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = 0.002f + 0.01f * r.nextFloat();
        return s;
    }

    /**
     * Dequantized weights {@code code * scale[o]}, each code first looked up in {@code remap} when given; rows of
     * {@code q.length / scale.length} codes per output channel.
     */
    static Tensor dequantize(byte[] q, byte[] remap, float[] scale, long... shape) {
        int perRow = q.length / scale.length;
        float[] w = new float[q.length];
        for (int i = 0; i < q.length; i++) w[i] = (remap == null ? q[i] : remap[q[i] & 0xFF]) * scale[i / perRow];
        return Tensor.of(w, shape);
    }

    /**
     * A coded-weight convolution and linear layer on bf16-compute kernels against the float reference run on their
     * decoded weights {@code cw} and {@code lw}, on random inputs (seed {@code seed}): within 2e-2 relative, bf16's
     * rounding of the inputs.
     */
    static void assertBf16CodedLayers(DnnlKernels bf16, Conv2dSpec spec, CodedWeightLayer conv, CodedWeightLayer lin,
                                      Tensor cw, Tensor lw, long seed) {
        try (var t = new Tensors(seed);
             Workspace ws = bf16.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct())) {
            Tensor x = t.randn(1, spec.inChannels(), 4, 5), tokens = t.randn(2, 7, lw.dim(1));
            try (Tensor got = conv.forward(ws, x, null, null, 1f, null); Tensor want = REF.conv2d(rws, spec, x, cw, null, null, 1f);
                 Tensor gotL = lin.forward(ws, tokens, null, null, 1f, null); Tensor wantL = REF.linear(rws, tokens, lw, null, null, 1f)) {
                assertTrue(relError(want.toFloatArray(), got.toFloatArray()) <= 2e-2, "bf16 conv " + relError(want.toFloatArray(), got.toFloatArray()));
                assertTrue(relError(wantL.toFloatArray(), gotL.toFloatArray()) <= 2e-2, "bf16 linear " + relError(wantL.toFloatArray(), gotL.toFloatArray()));
            }
        }
    }

    /** Relative max error of {@code got} against {@code want}. */
    static double relError(float[] want, float[] got) {
        double maxRef = 0, maxDiff = 0;
        for (int i = 0; i < want.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(want[i]));
            maxDiff = Math.max(maxDiff, Math.abs((double) want[i] - got[i]));
            if (Float.isNaN(got[i]) != Float.isNaN(want[i])) return Double.POSITIVE_INFINITY;
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    /** Runs {@code op} on both backends and asserts the shapes agree and the relative error is within {@code tol}. */
    static float[] assertMatches(String what, double tol, BiFunction<Kernels, Workspace, Tensor> op) {
        float[] want, got;
        long[] wantShape, gotShape;
        try (Workspace ws = REF.newWorkspace(Allocator.direct()); Tensor y = op.apply(REF, ws)) {
            want = y.toFloatArray();
            wantShape = y.shape();
        }
        try (Workspace ws = DNNL.newWorkspace(Allocator.direct()); Tensor y = op.apply(DNNL, ws)) {
            got = y.toFloatArray();
            gotShape = y.shape();
            assertTrue(y.isOwner(), what + ": result owns its memory");
        }
        assertArrayEquals(wantShape, gotShape, what + ": shape");
        double err = relError(want, got);
        assertTrue(err <= tol, what + ": max|dnnl - ref| / max|ref| = " + err + " > " + tol);
        return got;
    }
}
