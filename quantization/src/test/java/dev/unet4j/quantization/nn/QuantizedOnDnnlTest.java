package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quantized layers on the production oneDNN backend, against the plain-Java reference of the same arithmetic. */
class QuantizedOnDnnlTest {

    static void assertClose(float[] expected, float[] got, double rel, String what) {
        double scale = 0;
        for (float v : expected) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - got[i]) <= rel * scale, what + " element " + i + ": expected " + expected[i] + " got " + got[i]);
        }
    }

    @Test
    void quantizedLayersOnDnnlMatchTheReferenceOfDequantizedWeights() {
        for (WeightFormat fmt : WeightFormat.values()) quantizedLayersOnDnnlMatchTheReference(fmt);
    }

    /** INT8 at its stored 8 bits and a derived 4; FP8 only has its stored precision. */
    private static void quantizedLayersOnDnnlMatchTheReference(WeightFormat fmt) {
        Random rnd = new Random(77);
        Kernels ref = new ReferenceKernels();
        try (DnnlKernels dnnl = new DnnlKernels()) {
            Conv2dSpec spec = Conv2dSpec.of(16, 24, 3, 1, 1);
            float[] w = QuantizedLayersTest.gaussian(rnd, 24 * 16 * 9, 0.1), b = QuantizedLayersTest.gaussian(rnd, 24, 0.1);
            float[] xv = QuantizedLayersTest.gaussian(rnd, 2 * 16 * 9 * 11, 1), lw = QuantizedLayersTest.gaussian(rnd, 40 * 16, 0.2);
            QuantizingLayerFactory factory = new QuantizingLayerFactory(dnnl, QuantizationPlan.defaults(WeightQuantizer.of(fmt, Granularity.PER_OUTPUT_CHANNEL)));
            try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = dnnl.newWorkspace(pool);
                 PoolingAllocator refPool = new PoolingAllocator(); Workspace refWs = ref.newWorkspace(refPool);
                 Tensor wt = Tensor.of(w, 24, 16, 3, 3); Tensor bt = Tensor.of(b, 24); Tensor x = Tensor.of(xv, 2, 16, 9, 11);
                 Tensor lwt = Tensor.of(lw, 40, 16); Tensor tokens = Tensor.of(QuantizedLayersTest.gaussian(rnd, 3 * 5 * 16, 1), 3, 5, 16);
                 Conv2d conv = factory.conv2d("down_blocks.0.resnets.0.conv1", spec, wt, bt);
                 Linear lin = factory.linear("mid_block.attentions.0.to_q", lwt, null)) {
                for (int bits : fmt == WeightFormat.INT8 ? new int[]{8, 4} : new int[]{8}) {
                    ws.attributes().put(WeightPrecision.class, WeightPrecision.uniform(bits));
                    try (Tensor dw = Tensor.of(QuantizedLayersTest.expectedWeights(w, 24, fmt, bits), 24, 16, 3, 3);
                         Conv2d rc = ref.conv2d(spec, dw, bt); Tensor want = rc.forward(refWs, x); Tensor got = conv.forward(ws, x);
                         Tensor dl = Tensor.of(QuantizedLayersTest.expectedWeights(lw, 40, fmt, bits), 40, 16);
                         Linear rl = ref.linear(dl, null); Tensor wantL = rl.forward(refWs, tokens); Tensor gotL = lin.forward(ws, tokens)) {
                        assertClose(want.toFloatArray(), got.toFloatArray(), 1e-5, fmt + " oneDNN conv at " + bits + " bits");
                        assertClose(wantL.toFloatArray(), gotL.toFloatArray(), 1e-5, fmt + " oneDNN linear at " + bits + " bits");
                    }
                }
                // Steady state: a second forward of the same shape allocates nothing new (decode buffer is pooled).
                try (Tensor warm = conv.forward(ws, x); Tensor warmL = lin.forward(ws, tokens)) {
                    assertTrue(warm.numel() > 0 && warmL.numel() > 0);
                }
                long before = pool.allocations();
                try (Tensor again = conv.forward(ws, x); Tensor againL = lin.forward(ws, tokens)) {
                    assertTrue(again.numel() > 0 && againL.numel() > 0);
                }
                assertTrue(pool.allocations() == before, fmt + ": decoded weights should come from the pool");
            }
        }
    }

    @Test
    void quantizedDigitsModelOnDnnlTracksItsFloatSelf() throws Exception {
        java.nio.file.Path folder = Fixtures.model("digits-16");
        Random rnd = new Random(3);
        float[] sample = new float[2 * 16 * 16];
        for (int i = 0; i < sample.length; i++) sample[i] = (float) rnd.nextGaussian();
        try (DnnlKernels dnnl = new DnnlKernels()) {
            float[] ref;
            try (UNetModel f = UNetModel.load(folder, LoadOptions.of(dnnl))) {
                ref = QuantizedUNetTest.run(f, null, sample, 500, 3);
            }
            try (UNetModel q = QuantizedUNets.load(folder, dnnl, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()))) {
                double db8 = QuantizedUNetTest.sqnrDb(ref, QuantizedUNetTest.run(q, null, sample, 500, 3));
                double db4 = QuantizedUNetTest.sqnrDb(ref, QuantizedUNetTest.run(q, WeightPrecision.uniform(4), sample, 500, 3));
                System.out.printf("digits-16 on oneDNN: INT8 output SQNR %.2f dB, derived INT4 %.2f dB%n", db8, db4);
                assertTrue(db8 > 50 && db4 > 30 && db4 < db8, db8 + " / " + db4);
            }
        }
    }
}
