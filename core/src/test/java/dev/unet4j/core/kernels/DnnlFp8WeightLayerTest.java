package dev.unet4j.core.kernels;

import dev.unet4j.core.codes.Fp8Format;
import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertBf16CodedLayers;
import static dev.unet4j.core.kernels.DnnlTestSupport.channelScales;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * FP8 W8A32 layers ({@link Kernels#codedWeightConv2d}, {@link Kernels#codedWeightLinear} with E4M3 and E5M2 codes):
 * every one of the 256 codes of each format through each oneDNN route (codes widened to f16 for a decompressing
 * matmul; scaled f8 -> f32 reorder into the convolution's layout) against {@link Fp8Format}'s decoding, and
 * random finite codes against the reference float layer run on weights dequantized here; plus the portable default
 * of {@link ReferenceKernels}.
 */
class DnnlFp8WeightLayerTest {
    private static final WeightFormat[] FORMATS = {WeightFormat.FP8_E4M3, WeightFormat.FP8_E5M2};
    private static final int IN = 16;

    private static float value(WeightFormat format, byte code) {
        return (format == WeightFormat.FP8_E4M3 ? Fp8Format.E4M3 : Fp8Format.E5M2).decode(code);
    }

    /** Random codes of finite values (weights are encoded saturating, so NaN and infinity never occur in them). */
    private static byte[] finiteCodes(Random r, WeightFormat format, int n) {
        byte[] q = new byte[n];
        for (int i = 0; i < n; i++) {
            do q[i] = (byte) r.nextInt(256); while (!Float.isFinite(value(format, q[i])));
        }
        return q;
    }

    private static Tensor dequantize(WeightFormat format, byte[] q, byte[] remap, float[] scale, long... shape) {
        int perRow = q.length / scale.length;
        float[] w = new float[q.length];
        for (int i = 0; i < q.length; i++) w[i] = value(format, remap == null ? q[i] : remap[q[i] & 0xFF]) * scale[i / perRow];
        return Tensor.of(w, shape);
    }

    /**
     * Output channel {@code o} holds code {@code o} at one input position (input channel 0; the centre tap of a 3x3
     * kernel) and +0 elsewhere; the input is 1 at that position and 0 elsewhere, so each output is exactly
     * {@code value(o) * scale[o]}: infinities stay infinite and NaNs NaN (no other term is non-finite).
     */
    private static void assertEveryCode(String what, WeightFormat format, float[] scale, float[] got, int pixels) {
        for (int o = 0; o < 256; o++) {
            float want = value(format, (byte) o) * scale[o];
            for (int p = 0; p < pixels; p++) {
                float g = got[o * pixels + p];
                boolean same = Float.isNaN(want) ? Float.isNaN(g) : want == g;
                if (!same) fail(what + ": code 0x" + Integer.toHexString(o) + " gave " + g + " at pixel " + p + ", expected " + want);
            }
        }
    }

    /** NCHW input {@code [1, IN, h, w]} that is 1 on channel 0 and 0 elsewhere. */
    private static float[] channelZeroOnes(int pixels) {
        float[] x = new float[IN * pixels];
        Arrays.fill(x, 0, pixels, 1f);
        return x;
    }

    @Test
    void everyCodeDecodesExactlyOnEveryRoute() {
        Random r = new Random(71);
        float[] scale = new float[256];
        for (int o = 0; o < 256; o++) scale[o] = 0.5f + r.nextFloat();
        float[] onehot = new float[IN];
        onehot[0] = 1;
        for (WeightFormat format : FORMATS) {
            for (Kernels k : new Kernels[]{DNNL, REF}) {
                byte[] linearCodes = new byte[256 * IN];
                for (int o = 0; o < 256; o++) linearCodes[o * IN] = (byte) o;
                try (CodedWeightLayer layer = k.codedWeightLinear(format, linearCodes, 256, IN, scale);
                     Workspace ws = k.newWorkspace(Allocator.direct()); Tensor x = Tensor.of(onehot, 1, IN);
                     Tensor y = layer.forward(ws, x, null, null, 1f, null)) {
                    assertEquals(format, layer.format());
                    assertArrayEquals(linearCodes, layer.codes(), "linear codes read back");
                    assertEveryCode(k.name() + " " + format + " linear", format, scale, y.toFloatArray(), 1);
                }
                // 1x1 and 3x3 over one pixel run as matmuls; 3x3 over 17x17 (289 pixels > 256 channels) as reorder + conv
                for (int[] kernelAndSize : new int[][]{{1, 1}, {3, 1}, {3, 17}}) {
                    int kernel = kernelAndSize[0], size = kernelAndSize[1], pixels = size * size;
                    Conv2dSpec spec = Conv2dSpec.of(IN, 256, kernel, 1, kernel / 2);
                    int taps = kernel * kernel;
                    byte[] convCodes = new byte[256 * IN * taps];
                    for (int o = 0; o < 256; o++) convCodes[o * IN * taps + taps / 2] = (byte) o; // input channel 0, centre tap
                    try (CodedWeightLayer layer = k.codedWeightConv2d(spec, format, convCodes, scale);
                         Workspace ws = k.newWorkspace(Allocator.direct()); Tensor x = Tensor.of(channelZeroOnes(pixels), 1, IN, size, size);
                         Tensor y = layer.forward(ws, x, null, null, 1f, null)) {
                        assertArrayEquals(convCodes, layer.codes(), spec + ": codes read back");
                        assertEveryCode(k.name() + " " + format + " " + spec + " on " + size + "x" + size, format, scale, y.toFloatArray(), pixels);
                    }
                }
            }
        }
    }

    /** Each case: spec, input {N, H, W}; routes as for int8 (matmul on f16-widened codes, or scaled reorder + conv). */
    private static final Object[][] CONVS = {
            {Conv2dSpec.of(16, 24, 3, 1, 1), new long[]{2, 9, 11}},
            {Conv2dSpec.of(16, 64, 3, 1, 1), new long[]{1, 4, 5}},
            {new Conv2dSpec(16, 32, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1), new long[]{1, 8, 8}},
            {Conv2dSpec.of(24, 40, 1, 1, 0), new long[]{2, 6, 7}},
            {new Conv2dSpec(8, 12, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 4), new long[]{2, 9, 7}},
    };

    @Test
    void convolutionsMatchTheReferenceOfDequantizedWeights() {
        Random r = new Random(73);
        try (var t = new DnnlTestSupport.Tensors(74)) {
            for (WeightFormat format : FORMATS) {
                for (Object[] c : CONVS) {
                    Conv2dSpec spec = (Conv2dSpec) c[0];
                    long[] in = (long[]) c[1];
                    byte[] q = finiteCodes(r, format, (int) Tensor.numel(spec.weightShape()));
                    float[] sc = channelScales(r, spec.outChannels());
                    Tensor x = t.randn(in[0], spec.inChannels(), in[1], in[2]);
                    Tensor bias = t.randn(spec.outChannels());
                    Tensor res = t.randn(in[0], spec.outChannels(), spec.outH(in[1]), spec.outW(in[2]));
                    for (Kernels k : new Kernels[]{DNNL, REF}) {
                        try (CodedWeightLayer layer = k.codedWeightConv2d(spec, format, q, sc);
                             Tensor w = dequantize(format, q, null, sc, spec.weightShape());
                             Workspace kws = k.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                             Tensor got = layer.forward(kws, x, bias, res, 0.5f, null); Tensor want = REF.conv2d(rws, spec, x, w, bias, res, 0.5f)) {
                            assertEquals(q.length + 4L * sc.length, layer.residentBytes());
                            String what = k.name() + " " + format + " " + spec + " on " + Arrays.toString(in);
                            double err = relError(want.toFloatArray(), got.toFloatArray());
                            assertTrue(err <= EXACT, what + ": " + err);
                        }
                    }
                }
            }
        }
    }

    @Test
    void linearMatchesTheReferenceOfDequantizedWeights() {
        Random r = new Random(75);
        byte[] dropLowMantissaBit = new byte[256];
        for (int k = 0; k < 256; k++) dropLowMantissaBit[k] = (byte) (k & 0xFE);
        try (var t = new DnnlTestSupport.Tensors(76)) {
            int in = 48, out = 40;
            Tensor x = t.randn(3, 5, in), bias = t.randn(out), res = t.randn(3, 5, out), strided = t.randnPadded(3, 5, in);
            for (WeightFormat format : FORMATS) {
                byte[] q = finiteCodes(r, format, in * out);
                float[] sc = channelScales(r, out);
                for (Kernels k : new Kernels[]{DNNL, REF}) {
                    try (CodedWeightLayer layer = k.codedWeightLinear(format, q, out, in, sc)) {
                        for (byte[] map : new byte[][]{null, dropLowMantissaBit}) {
                            try (Tensor w = dequantize(format, q, map, sc, out, in);
                                 Workspace kws = k.newWorkspace(Allocator.direct()); Workspace rws = REF.newWorkspace(Allocator.direct());
                                 Tensor got = layer.forward(kws, x, bias, res, 0.5f, map); Tensor want = REF.linear(rws, x, w, bias, res, 0.5f);
                                 Tensor gotS = layer.forward(kws, strided, null, null, 1f, map); Tensor wantS = REF.linear(rws, strided, w, null, null, 1f)) {
                                String what = k.name() + " " + format + " linear" + (map == null ? "" : " remapped");
                                assertTrue(relError(want.toFloatArray(), got.toFloatArray()) <= EXACT, what + ": " + relError(want.toFloatArray(), got.toFloatArray()));
                                assertTrue(relError(wantS.toFloatArray(), gotS.toFloatArray()) <= EXACT, what + " on a strided input");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void bf16ComputeRunsOnTheDecodedWeights() {
        Random r = new Random(77);
        Conv2dSpec spec = Conv2dSpec.of(16, 64, 3, 1, 1);
        WeightFormat format = WeightFormat.FP8_E4M3;
        byte[] cq = finiteCodes(r, format, (int) Tensor.numel(spec.weightShape())), lq = finiteCodes(r, format, 40 * 48);
        float[] cs = channelScales(r, 64), ls = channelScales(r, 40);
        try (DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true));
             CodedWeightLayer conv = bf16.codedWeightConv2d(spec, format, cq, cs); CodedWeightLayer lin = bf16.codedWeightLinear(format, lq, 40, 48, ls);
             Tensor cw = dequantize(format, cq, null, cs, spec.weightShape()); Tensor lw = dequantize(format, lq, null, ls, 40, 48)) {
            assertBf16CodedLayers(bf16, spec, conv, lin, cw, lw, 78);
        }
    }
}
