package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.Fp8Format;
import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizedLayersTest {
    private final Kernels kernels = new ReferenceKernels();

    static float[] gaussian(Random rnd, int n, double sigma) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rnd.nextGaussian() * sigma);
        return a;
    }

    /**
     * Dequantization written independently of the main code: per channel {@code amax/qmax} scales, INT8 codes by
     * rint-and-clamp, re-rounded half-even to {@code bits} with the derived scale; FP8 through the codec.
     */
    static float[] expectedWeights(float[] w, int out, WeightFormat fmt, int bits) {
        int len = w.length / out;
        float[] d = new float[w.length];
        for (int c = 0; c < out; c++) {
            float amax = 0;
            for (int i = 0; i < len; i++) amax = Math.max(amax, Math.abs(w[c * len + i]));
            for (int i = c * len; i < (c + 1) * len; i++) {
                if (fmt == WeightFormat.INT8) {
                    float s8 = amax / 127f;
                    int q8 = (int) Math.max(-127, Math.min(127, Math.rint(w[i] / s8)));
                    double step = Math.pow(2, 8 - bits);
                    int max = (1 << (bits - 1)) - 1;
                    long ql = Math.max(-max, Math.min(max, (long) Math.rint(q8 / step)));
                    d[i] = (float) (ql * (s8 * step));
                } else {
                    Fp8Format f = fmt == WeightFormat.FP8_E4M3 ? Fp8Format.E4M3 : Fp8Format.E5M2;
                    float s = amax / f.maxFinite();
                    d[i] = f.decode(f.encode(w[i] / s, dev.unet4j.core.codes.Fp8Overflow.SATURATE)) * s;
                }
            }
        }
        return d;
    }

    static void assertClose(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what);
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - got[i]) <= 1e-5 * Math.max(Math.abs(expected[i]), scale * 1e-2),
                    what + " element " + i + ": expected " + expected[i] + " got " + got[i]);
        }
    }

    @Test
    void quantizedConvMatchesTheReferenceConvOfIndependentlyDequantizedWeights() {
        Random rnd = new Random(42);
        Conv2dSpec spec = new Conv2dSpec(6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        float[] w = gaussian(rnd, 8 * 6 * 9, 0.2), b = gaussian(rnd, 8, 0.1), xv = gaussian(rnd, 2 * 6 * 5 * 7, 1), rv = gaussian(rnd, 2 * 8 * 5 * 7, 1);
        QuantizationPlan plan = QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())
                .override("**.attn**", WeightQuantizer.of(WeightFormat.FP8_E4M3, Granularity.PER_OUTPUT_CHANNEL))
                .override("**.e5m2", WeightQuantizer.of(WeightFormat.FP8_E5M2, Granularity.PER_OUTPUT_CHANNEL));
        QuantizingLayerFactory factory = new QuantizingLayerFactory(kernels, plan);
        String[] paths = {"up_blocks.1.resnets.0.conv1", "mid_block.attn1", "x.e5m2"};
        WeightFormat[] formats = {WeightFormat.INT8, WeightFormat.FP8_E4M3, WeightFormat.FP8_E5M2};
        try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = kernels.newWorkspace(pool);
             Tensor wt = Tensor.of(w, 8, 6, 3, 3); Tensor bt = Tensor.of(b, 8); Tensor x = Tensor.of(xv, 2, 6, 5, 7); Tensor r = Tensor.of(rv, 2, 8, 5, 7)) {
            for (int p = 0; p < paths.length; p++) {
                try (Conv2d q = factory.conv2d(paths[p], spec, wt, bt)) {
                    assertTrue(q instanceof QuantizedConv2d, paths[p]);
                    int[] bitsList = formats[p] == WeightFormat.INT8 ? new int[]{8, 6, 4, 2} : new int[]{8};
                    for (int bits : bitsList) {
                        ws.attributes().put(WeightPrecision.class, WeightPrecision.uniform(bits));
                        try (Tensor dq = Tensor.of(expectedWeights(w, 8, formats[p], bits), 8, 6, 3, 3);
                             Conv2d ref = kernels.conv2d(spec, dq, bt);
                             Tensor got = q.forward(ws, x, r, 0.7f); Tensor want = ref.forward(ws, x, r, 0.7f)) {
                            assertClose(want.toFloatArray(), got.toFloatArray(), paths[p] + " at " + bits + " bits");
                        }
                    }
                    // FP8 ignores a lower precision request: same output as at 8 bits.
                    if (formats[p] != WeightFormat.INT8) {
                        ws.attributes().put(WeightPrecision.class, WeightPrecision.uniform(4));
                        try (Tensor dq = Tensor.of(expectedWeights(w, 8, formats[p], 8), 8, 6, 3, 3); Conv2d ref = kernels.conv2d(spec, dq, bt);
                             Tensor got = q.forward(ws, x); Tensor want = ref.forward(ws, x)) {
                            assertClose(want.toFloatArray(), got.toFloatArray(), paths[p] + " with a 4-bit request");
                        }
                    }
                    ws.attributes().put(WeightPrecision.class, null);
                }
            }
        }
    }

    @Test
    void quantizedLinearMatchesAndSwitchesPrecisionPerLayerWithoutReloading() {
        Random rnd = new Random(9);
        float[] w = gaussian(rnd, 12 * 20, 0.3), xv = gaussian(rnd, 3 * 4 * 20, 1);
        QuantizingLayerFactory factory = new QuantizingLayerFactory(kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
        String path = "down_blocks.0.resnets.0.time_emb_proj";
        try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = kernels.newWorkspace(pool);
             Tensor wt = Tensor.of(w, 12, 20); Tensor x = Tensor.of(xv, 3, 4, 20); Linear q = factory.linear(path, wt, null)) {
            assertTrue(q instanceof QuantizedLinear);
            assertEquals(20, q.inFeatures());
            assertEquals(12, q.outFeatures());
            for (WeightPrecision prec : new WeightPrecision[]{WeightPrecision.STORED, new WeightPrecision(8, java.util.Map.of(path, 2)),
                    new WeightPrecision(6, java.util.Map.of("other", 2))}) {
                ws.attributes().put(WeightPrecision.class, prec);
                try (Tensor dq = Tensor.of(expectedWeights(w, 12, WeightFormat.INT8, prec.bitsFor(path)), 12, 20); Linear ref = kernels.linear(dq, null);
                     Tensor got = q.forward(ws, x); Tensor want = ref.forward(ws, x)) {
                    assertClose(want.toFloatArray(), got.toFloatArray(), prec.toString());
                }
            }
        }
    }

    @Test
    void decodeIntoMatchesDequantizeAndReportsThroughput() {
        Random rnd = new Random(12);
        int out = 640, len = 640 * 9; // 3.7 M elements: decoded by several threads
        float[] w = gaussian(rnd, out * len, 0.05);
        for (WeightFormat fmt : WeightFormat.values()) {
            dev.unet4j.quantization.QuantizedTensor q = WeightQuantizer.of(fmt, Granularity.PER_OUTPUT_CHANNEL).quantize("w", w, new long[]{out, len});
            try (Tensor t = Tensor.allocate(out, len)) {
                long best = Long.MAX_VALUE;
                for (int rep = 0; rep < 5; rep++) {
                    long t0 = System.nanoTime();
                    q.decodeInto(t, 8);
                    best = Math.min(best, System.nanoTime() - t0);
                }
                System.out.printf("decode %s %dx%d: %.2f ms, %.2f GB/s of float32 written%n", fmt, out, len, best / 1e6, 4.0 * out * len / best);
                assertArrayEquals(q.dequantize(), t.toFloatArray());
                assertArrayEquals(expectedWeights(w, out, fmt, 8), t.toFloatArray(), 0f);
                if (fmt == WeightFormat.INT8) {
                    q.decodeInto(t, 4);
                    assertArrayEquals(expectedWeights(w, out, fmt, 4), t.toFloatArray(), 0f);
                }
            }
        }
    }

    @Test
    void biasCorrectionCancelsTheMeanOutputErrorAtEveryPrecision() {
        Random rnd = new Random(21);
        int out = 10, in = 24, rows = 300;
        float[] w = gaussian(rnd, out * in, 0.3), b = gaussian(rnd, out, 0.1), xv = new float[rows * in];
        for (int i = 0; i < xv.length; i++) xv[i] = (float) (rnd.nextGaussian() + 1.5); // non-zero mean input
        dev.unet4j.quantization.activation.Calibrator cal = new dev.unet4j.quantization.activation.Calibrator(1);
        String path = "mid_block.attentions.0.to_k";
        try (Tensor x = Tensor.of(xv, 1, rows, in); Tensor wt = Tensor.of(w, out, in); Tensor bt = Tensor.of(b, out)) {
            cal.observe(path, 0, x);
            QuantizingLayerFactory plain = new QuantizingLayerFactory(kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
            QuantizingLayerFactory corrected = new QuantizingLayerFactory(kernels,
                    WeightSource.of(QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())), cal::channelMeans);
            try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = kernels.newWorkspace(pool);
                 Linear p = plain.linear(path, wt, bt); Linear c = corrected.linear(path, wt, bt); Linear f = kernels.linear(wt, bt)) {
                try (Tensor yf = f.forward(ws, x)) {
                    float[] ref = yf.toFloatArray();
                    for (int bits : new int[]{8, 4, 2}) {
                        ws.attributes().put(WeightPrecision.class, WeightPrecision.uniform(bits));
                        try (Tensor yp = p.forward(ws, x); Tensor yc = c.forward(ws, x)) {
                            double[] meanP = meanErrorPerOutput(ref, yp.toFloatArray(), out), meanC = meanErrorPerOutput(ref, yc.toFloatArray(), out);
                            double maxP = 0, maxC = 0;
                            for (int o = 0; o < out; o++) {
                                maxP = Math.max(maxP, Math.abs(meanP[o]));
                                maxC = Math.max(maxC, Math.abs(meanC[o]));
                            }
                            System.out.printf("bias correction at %d bits: max |mean output error| %.3g -> %.3g%n", bits, maxP, maxC);
                            assertTrue(maxC < 1e-5 + maxP * 1e-3, bits + " bits: corrected " + maxC + " vs plain " + maxP);
                        }
                    }
                }
            }
        }
    }

    static double[] meanErrorPerOutput(float[] ref, float[] got, int out) {
        double[] m = new double[out];
        for (int i = 0; i < ref.length; i++) m[i % out] += got[i] - ref[i];
        for (int o = 0; o < out; o++) m[o] /= ref.length / out;
        return m;
    }

    @Test
    void keepsOnlyCodesScalesAndBiasResident() {
        Random rnd = new Random(4);
        int out = 64, in = 256;
        QuantizingLayerFactory factory = new QuantizingLayerFactory(kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
        try (Tensor wt = Tensor.of(gaussian(rnd, out * in, 1), out, in); Tensor bt = Tensor.of(gaussian(rnd, out, 1), out)) {
            long before = NativeBuffer.liveBytes();
            try (Linear q = factory.linear("mid_block.attentions.0.to_q", wt, bt)) {
                long resident = NativeBuffer.liveBytes() - before;
                assertTrue(resident <= out * 4L + 64 + 4, "a quantized layer should hold only its bias natively, holds " + resident + " bytes");
                assertEquals((long) out * in + 4L * out, ((QuantizedLinear) q).quantizedWeight().storageBytes());
            }
        }
    }

    @Test
    void defaultPlanKeepsTheSensitiveLayersFloat() {
        QuantizationPlan plan = QuantizationPlan.defaults(WeightQuantizer.int8PerChannel());
        for (String keep : new String[]{"time_embedding.linear_1", "time_embedding.linear_2", "class_embedding", "class_embedding.linear_1",
                "conv_in", "conv_out", "down_blocks.1.resnets.0.conv_shortcut", "up_blocks.2.resnets.0.conv_shortcut",
                "conv_norm_out", "down_blocks.0.resnets.0.norm1", "mid_block.attentions.0.group_norm", "up_blocks.1.attentions.0.transformer_blocks.0.norm2"}) {
            assertTrue(plan.quantizerFor(keep).isEmpty(), keep + " should stay float32");
        }
        for (String quant : new String[]{"down_blocks.0.resnets.0.time_emb_proj", "down_blocks.0.resnets.0.conv1", "up_blocks.1.resnets.0.conv2",
                "mid_block.attentions.0.to_q", "up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0", "down_blocks.0.downsamplers.0.conv",
                "up_blocks.0.upsamplers.0.conv", "down_blocks.1.attentions.0.proj_in", "conv_in_extra"}) {
            assertTrue(plan.quantizerFor(quant).isPresent(), quant + " should be quantized");
        }
        QuantizationPlan custom = plan.keepingFloat("**.attentions.**").override("conv_in", WeightQuantizer.int8PerChannel());
        assertTrue(custom.quantizerFor("mid_block.attentions.0.to_q").isEmpty());
        assertTrue(custom.quantizerFor("conv_in").isPresent());
    }

    @Test
    void floatPathsGetTheBackendsOwnLayer() {
        QuantizingLayerFactory factory = new QuantizingLayerFactory(kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
        try (Tensor wt = Tensor.zeros(4, 1, 3, 3); Conv2d c = factory.conv2d("conv_in", Conv2dSpec.of(1, 4, 3, 1, 1), wt, null)) {
            assertFalse(c instanceof QuantizedConv2d);
        }
    }
}
