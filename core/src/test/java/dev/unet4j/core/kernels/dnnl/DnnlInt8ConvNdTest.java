package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.DnnlTestSupport;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The 3-D (volume) int8 convolutions against the plain-Java reference on an odd-sized volume: W8A32 coded weights
 * ({@link Kernels#codedWeightConv}) on both backends against each other and against the reference convolution of
 * the dequantized weights, and W8A8 ({@link DnnlKernels#int8Conv}) on oneDNN's s8 kernel and on the dequantized
 * fallback of CPUs without 8-bit dot products (forced here) against the reference on the dequantized operands.
 */
class DnnlInt8ConvNdTest {
    private static final DnnlKernels DNNL = new DnnlKernels();
    private static final ReferenceKernels REF = new ReferenceKernels();
    private static final ConvSpec[] SPECS = {ConvSpec.of(3, 6, 10, 3, 1, 1), new ConvSpec(4, 8, new int[]{3, 1, 3}, new int[]{2, 1, 2}, new int[]{0, 1, 1}, 2, false)};
    private static final long[] VOLUME = {2, 0, 7, 9, 5}; // channels filled in per spec

    @AfterAll
    static void close() {
        DNNL.close();
    }

    private static byte[] codes(Random r, int n) {
        byte[] q = new byte[n];
        for (int i = 0; i < n; i++) q[i] = (byte) (r.nextInt(255) - 127);
        return q;
    }

    private static float[] scales(Random r, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = 0.002f + 0.01f * r.nextFloat();
        return s;
    }

    private static Tensor randn(Random r, long... shape) {
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** {@code q * scale[o]}, or the FP8 code's value times it. */
    private static Tensor dequantize(WeightFormat f, byte[] q, float[] scale, long[] shape) {
        int perRow = q.length / scale.length;
        float[] values = f == WeightFormat.INT8 ? null : f.codeValues();
        float[] w = new float[q.length];
        for (int i = 0; i < q.length; i++) w[i] = (values == null ? q[i] : values[q[i] & 0xFF]) * scale[i / perRow];
        return Tensor.of(w, shape);
    }

    /** max|want - got| / max|want|. */
    private static double relError(float[] want, float[] got) {
        double max = 0, diff = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs((double) want[i] - got[i]));
        }
        return diff / max;
    }

    private static Tensor input(Random r, ConvSpec spec) {
        long[] shape = VOLUME.clone();
        shape[1] = spec.inChannels();
        return randn(r, shape);
    }

    @Test
    void codedWeightConvOnBothBackendsMatchesTheDequantizedReference() {
        Random r = new Random(61);
        for (WeightFormat f : WeightFormat.values()) {
            for (ConvSpec spec : SPECS) {
                byte[] q = codes(r, (int) Tensor.numel(spec.weightShape()));
                float[] values = f.codeValues();
                for (int i = 0; i < q.length; i++) if (!Float.isFinite(values[q[i] & 0xFF])) q[i] = 0; // finite weights only
                float[] sc = scales(r, spec.outChannels());
                try (Tensor x = input(r, spec); Tensor bias = randn(r, spec.outChannels()); Tensor res = randn(r, spec.outShape(x.shape()));
                     Tensor w = dequantize(f, q, sc, spec.weightShape()); ConvLayer exact = REF.conv(spec, w, bias);
                     CodedWeightLayer dnnl = DNNL.codedWeightConv(spec, f, q, sc); CodedWeightLayer ref = REF.codedWeightConv(spec, f, q, sc);
                     Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                     Tensor want = exact.forward(rws, x); Tensor gotRef = ref.forward(rws, x, bias, null, 1f, null);
                     Tensor gotDnnl = dnnl.forward(dws, x, bias, null, 1f, null);
                     Tensor fusedRef = ref.forward(rws, x, bias, res, 0.5f, null); Tensor fusedDnnl = dnnl.forward(dws, x, bias, res, 0.5f, null)) {
                    double refErr = relError(want.toFloatArray(), gotRef.toFloatArray()), dnnlErr = relError(gotRef.toFloatArray(), gotDnnl.toFloatArray());
                    float[] fused = want.toFloatArray(), r2 = res.toFloatArray();
                    for (int i = 0; i < fused.length; i++) fused[i] = (fused[i] + r2[i]) * 0.5f;
                    double fusedErr = Math.max(relError(fused, fusedRef.toFloatArray()), relError(fused, fusedDnnl.toFloatArray()));
                    System.out.printf("%s %s: reference coded vs dequantized %.2e, oneDNN vs reference %.2e, with residual %.2e%n", f, spec, refErr, dnnlErr, fusedErr);
                    assertTrue(refErr <= 1e-6, f + " " + spec + ": reference coded conv vs dequantized weights " + refErr);
                    assertTrue(dnnlErr <= 1e-4, f + " " + spec + ": oneDNN vs reference " + dnnlErr);
                    assertTrue(fusedErr <= 1e-4, f + " " + spec + ": residual and output scale " + fusedErr);
                }
            }
        }
    }

    @Test
    void int8ConvMatchesTheReferenceOnDequantizedOperands() {
        Random r = new Random(67);
        // the s8 x s8 kernel runs only where the CPU has 8-bit dot products (oneDNN's AVX2 int8 kernels saturate)
        boolean[] paths = CpuFeatures.hasInt8DotProduct() ? new boolean[]{true, false} : new boolean[]{false};
        for (boolean dotProduct : paths) {
            for (ConvSpec spec : SPECS) {
                byte[] q = codes(r, (int) Tensor.numel(spec.weightShape()));
                float[] sc = scales(r, spec.outChannels());
                try (Tensor x = input(r, spec); Tensor bias = randn(r, spec.outChannels()); Tensor xq = DnnlTestSupport.quantizeDequantize(x);
                     Tensor w = dequantize(WeightFormat.INT8, q, sc, spec.weightShape()); ConvLayer exact = REF.conv(spec, w, bias);
                     ConvLayer float32 = REF.conv(spec, w, bias);
                     ConvLayer int8 = new DnnlInt8Layers.Int8ConvNd(DNNL, spec, q, sc, bias, DnnlInt8Layers.DYNAMIC_SCALE, dotProduct);
                     Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                     Tensor want = exact.forward(rws, xq); Tensor approx = float32.forward(rws, x); Tensor got = int8.forward(dws, x);
                     Tensor again = int8.forward(dws, x)) {
                    double err = relError(want.toFloatArray(), got.toFloatArray()), quantErr = relError(approx.toFloatArray(), got.toFloatArray());
                    System.out.printf("int8 %s (%s): vs dequantized operands %.2e, vs float32 %.2e%n", spec, dotProduct ? "s8 x s8" : "dequantized", err, quantErr);
                    assertTrue(err <= 1e-4, spec + ": int8 conv vs reference on the dequantized operands " + err);
                    assertTrue(quantErr > 0 && quantErr <= 3e-2, spec + ": int8 conv vs float32 " + quantErr);
                    assertTrue(relError(got.toFloatArray(), again.toFloatArray()) == 0, spec + ": a second call differs");
                }
            }
        }
    }

    /** Other volume sizes ask for other s8 weight layouts, packed from the plain codes kept for them. */
    @Test
    void int8ConvAtChangingVolumes() {
        Random r = new Random(71);
        ConvSpec spec = ConvSpec.of(3, 16, 32, 3, 1, 1);
        byte[] q = codes(r, (int) Tensor.numel(spec.weightShape()));
        float[] sc = scales(r, spec.outChannels());
        try (ConvLayer int8 = DNNL.int8Conv(spec, q, sc, null); Tensor w = dequantize(WeightFormat.INT8, q, sc, spec.weightShape());
             ConvLayer exact = REF.conv(spec, w, null); Workspace dws = DNNL.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct())) {
            for (int size : new int[]{8, 3, 5}) {
                try (Tensor x = randn(r, 1, 16, size, size + 1, size); Tensor xq = DnnlTestSupport.quantizeDequantize(x);
                     Tensor want = exact.forward(rws, xq); Tensor got = int8.forward(dws, x)) {
                    double err = relError(want.toFloatArray(), got.toFloatArray());
                    assertTrue(err <= 1e-4, "volume " + size + ": " + err);
                }
            }
        }
    }
}
