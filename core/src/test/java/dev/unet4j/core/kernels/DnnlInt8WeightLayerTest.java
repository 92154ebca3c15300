package dev.unet4j.core.kernels;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertBf16CodedLayers;
import static dev.unet4j.core.kernels.DnnlTestSupport.channelScales;
import static dev.unet4j.core.kernels.DnnlTestSupport.dequantize;
import static dev.unet4j.core.kernels.DnnlTestSupport.int8Codes;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * W8A32 int8-weight layers ({@link Kernels#int8WeightConv2d}, {@link Kernels#int8WeightLinear}) against the
 * reference float layer run on weights dequantized here ({@code remap(code) * scale[o]}), through every oneDNN route:
 * scaled reorder + float convolution, decompressing matmul over 1x1 pixels and over an im2col gather, grouped
 * convolutions, and bf16 compute; plus the portable default of {@link ReferenceKernels}.
 */
class DnnlInt8WeightLayerTest {
    /** A code remapping like double rounding's: {@code round(q / 4) * 4}, clamped to ±124. */
    private static byte[] remap() {
        byte[] m = new byte[256];
        for (int k = 0; k < 256; k++) m[k] = (byte) (Math.max(-31, Math.min(31, Math.round((byte) k / 4f))) * 4);
        return m;
    }

    /**
     * Double rounding's table at 8 - shift bits: {@code clamp(rint(q / 2^shift), +-(2^(7-shift) - 1)) * 2^shift}, round
     * half to even (oneDNN runs such tables as one binary; the half-up table above goes through Java).
     */
    static byte[] halfEvenShift(int shift) {
        int max = (1 << (7 - shift)) - 1;
        byte[] m = new byte[256];
        for (int k = 0; k < 256; k++) m[k] = (byte) (Math.max(-max, Math.min(max, (int) Math.rint((byte) k / (double) (1 << shift)))) << shift);
        return m;
    }

    /** Each case: spec, input {N, H, W}; comments name the oneDNN route it takes. */
    private static final Object[][] CONVS = {
            {Conv2dSpec.of(16, 24, 3, 1, 1), new long[]{2, 9, 11}},                        // 198 pixels > 24 channels: reorder + conv
            {Conv2dSpec.of(16, 64, 3, 1, 1), new long[]{1, 4, 5}},                         // 20 pixels: im2col + matmul
            {new Conv2dSpec(16, 32, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1), new long[]{1, 8, 8}}, // strided, asymmetric padding: im2col + matmul
            {Conv2dSpec.of(24, 40, 1, 1, 0), new long[]{2, 6, 7}},                         // 1x1: pixels as matmul rows
            {new Conv2dSpec(8, 12, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 4), new long[]{2, 9, 7}},  // grouped: reorder + conv
    };

    @Test
    void convolutionsMatchTheReferenceOfDequantizedWeightsOnEveryRoute() {
        Random r = new Random(61);
        try (var t = new DnnlTestSupport.Tensors(62)) {
            for (Object[] c : CONVS) {
                Conv2dSpec spec = (Conv2dSpec) c[0];
                long[] in = (long[]) c[1];
                byte[] q = int8Codes(r, (int) Tensor.numel(spec.weightShape()));
                float[] sc = channelScales(r, spec.outChannels());
                Tensor x = t.randn(in[0], spec.inChannels(), in[1], in[2]); // row-major NCHW: converted on the way in
                Tensor bias = t.randn(spec.outChannels());
                Tensor res = t.randn(in[0], spec.outChannels(), spec.outH(in[1]), spec.outW(in[2]));
                for (Kernels k : new Kernels[]{DNNL, REF}) {
                    try (CodedWeightLayer layer = k.int8WeightConv2d(spec, q, sc)) {
                        assertArrayEquals(q, layer.codes(), spec + ": codes read back");
                        assertEquals(q.length + 4L * sc.length, layer.residentBytes());
                        for (byte[] map : new byte[][]{null, remap(), halfEvenShift(2), halfEvenShift(5)}) {
                            try (Tensor w = dequantize(q, map, sc, spec.weightShape());
                                 Workspace kws = k.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                                 Tensor got = layer.forward(kws, x, bias, res, 0.5f, map); Tensor want = REF.conv2d(rws, spec, x, w, bias, res, 0.5f);
                                 Tensor plain = layer.forward(kws, x, null, null, 1f, map); Tensor wantPlain = REF.conv2d(rws, spec, x, w, null, null, 1f)) {
                                assertArrayEquals(want.shape(), got.shape());
                                String what = k.name() + " " + spec + " on " + java.util.Arrays.toString(in) + (map == null ? "" : " remapped");
                                assertTrue(relError(want.toFloatArray(), got.toFloatArray()) <= EXACT, what + ": " + relError(want.toFloatArray(), got.toFloatArray()));
                                assertTrue(relError(wantPlain.toFloatArray(), plain.toFloatArray()) <= EXACT, what + " without bias: " + relError(wantPlain.toFloatArray(), plain.toFloatArray()));
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void linearMatchesTheReferenceOfDequantizedWeights() {
        Random r = new Random(63);
        try (var t = new DnnlTestSupport.Tensors(64)) {
            int in = 48, out = 40;
            byte[] q = int8Codes(r, in * out);
            float[] sc = channelScales(r, out);
            Tensor x = t.randn(3, 5, in), bias = t.randn(out), res = t.randn(3, 5, out), strided = t.randnPadded(3, 5, in);
            for (Kernels k : new Kernels[]{DNNL, REF}) {
                try (CodedWeightLayer layer = k.int8WeightLinear(q, out, in, sc)) {
                    assertArrayEquals(q, layer.codes());
                    for (byte[] map : new byte[][]{null, remap(), halfEvenShift(2), halfEvenShift(5)}) {
                        try (Tensor w = dequantize(q, map, sc, out, in);
                             Workspace kws = k.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                             Tensor got = layer.forward(kws, x, bias, res, 0.5f, map); Tensor want = REF.linear(rws, x, w, bias, res, 0.5f);
                             Tensor gotS = layer.forward(kws, strided, null, null, 1f, map); Tensor wantS = REF.linear(rws, strided, w, null, null, 1f)) {
                            assertTrue(relError(want.toFloatArray(), got.toFloatArray()) <= EXACT, k.name() + " linear: " + relError(want.toFloatArray(), got.toFloatArray()));
                            assertTrue(relError(wantS.toFloatArray(), gotS.toFloatArray()) <= EXACT, k.name() + " linear on a strided input");
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16ComputeDecodesToFloatWeights() {
        Random r = new Random(65);
        Conv2dSpec spec = Conv2dSpec.of(16, 64, 3, 1, 1);
        byte[] cq = int8Codes(r, (int) Tensor.numel(spec.weightShape())), lq = int8Codes(r, 40 * 48);
        float[] cs = channelScales(r, 64), ls = channelScales(r, 40);
        try (DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true));
             CodedWeightLayer conv = bf16.int8WeightConv2d(spec, cq, cs); CodedWeightLayer lin = bf16.int8WeightLinear(lq, 40, 48, ls);
             Tensor cw = dequantize(cq, null, cs, spec.weightShape()); Tensor lw = dequantize(lq, null, ls, 40, 48)) {
            assertBf16CodedLayers(bf16, spec, conv, lin, cw, lw, 66);
        }
    }

    @Test
    void rejectsMismatchedCodesScalesAndRemaps() {
        Conv2dSpec spec = Conv2dSpec.of(4, 6, 3, 1, 1);
        assertThrows(IllegalArgumentException.class, () -> DNNL.int8WeightConv2d(spec, new byte[10], new float[6]));
        assertThrows(IllegalArgumentException.class, () -> DNNL.int8WeightConv2d(spec, new byte[6 * 4 * 9], new float[5]));
        float[] zero = new float[6];
        assertThrows(IllegalArgumentException.class, () -> DNNL.int8WeightConv2d(spec, new byte[6 * 4 * 9], zero));
        float[] ones = {1, 1, 1, 1, 1, 1};
        try (CodedWeightLayer layer = DNNL.int8WeightConv2d(spec, new byte[6 * 4 * 9], ones); Workspace ws = DNNL.newWorkspace(Allocator.direct());
             Tensor x = Tensor.allocate(1, 4, 5, 5)) {
            assertThrows(IllegalArgumentException.class, () -> layer.forward(ws, x, null, null, 1f, new byte[255]));
        }
    }
}
