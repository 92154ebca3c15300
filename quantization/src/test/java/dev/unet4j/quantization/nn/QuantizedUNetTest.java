package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The quantized digits-16 UNet against its float32 self (same kernels), at every precision, from one load. */
class QuantizedUNetTest {
    private final Kernels kernels = new ReferenceKernels();

    static double sqnrDb(float[] ref, float[] got) {
        double s = 0, e = 0;
        for (int i = 0; i < ref.length; i++) {
            s += (double) ref[i] * ref[i];
            e += (double) (got[i] - ref[i]) * (got[i] - ref[i]);
        }
        return 10 * Math.log10(s / e);
    }

    static float[] run(UNetModel model, WeightPrecision precision, float[] sample, long t, float label) {
        try (UNetSession s = model.newSession(); Tensor x = Tensor.of(sample, 2, 1, 16, 16); Tensor labels = Tensor.of(new float[]{label, 10 - label}, 2)) {
            if (precision != null) s.workspace().attributes().put(WeightPrecision.class, precision);
            try (Tensor y = s.forward(UNetInputs.builder(x, Timestep.of(t)).classLabels(labels).build())) {
                return y.toFloatArray();
            }
        }
    }

    @Test
    void quantizedModelTracksTheFloatModelAndSwitchesPrecisionWithoutReloading(@TempDir Path dir) throws Exception {
        Path folder = Fixtures.model("digits-16");
        Random rnd = new Random(3);
        float[] sample = new float[2 * 16 * 16];
        for (int i = 0; i < sample.length; i++) sample[i] = (float) rnd.nextGaussian();
        long t = 500;
        float[] ref;
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(kernels))) {
            ref = run(f, null, sample, t, 3);
        }
        double[] db = new double[9];
        try (UNetModel q = QuantizedUNets.load(folder, kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()))) {
            for (int bits : new int[]{8, 6, 4}) db[bits] = sqnrDb(ref, run(q, WeightPrecision.uniform(bits), sample, t, 3));
            // A precision switch only changes the session attribute: back to 8 bits gives the 8-bit numbers again.
            assertArrayEquals(run(q, WeightPrecision.uniform(8), sample, t, 3), run(q, null, sample, t, 3));
        }
        double e4m3, e5m2;
        try (UNetModel q = QuantizedUNets.load(folder, kernels, QuantizationPlan.defaults(WeightQuantizer.of(WeightFormat.FP8_E4M3, Granularity.PER_OUTPUT_CHANNEL)))) {
            e4m3 = sqnrDb(ref, run(q, null, sample, t, 3));
        }
        try (UNetModel q = QuantizedUNets.load(folder, kernels, QuantizationPlan.defaults(WeightQuantizer.of(WeightFormat.FP8_E5M2, Granularity.PER_OUTPUT_CHANNEL)))) {
            e5m2 = sqnrDb(ref, run(q, null, sample, t, 3));
        }
        System.out.printf("digits-16 UNet output SQNR vs float32 (t=%d): INT8 %.2f dB, derived INT6 %.2f dB, derived INT4 %.2f dB, FP8 E4M3 %.2f dB, FP8 E5M2 %.2f dB%n",
                t, db[8], db[6], db[4], e4m3, e5m2);
        assertTrue(db[8] > 30, "INT8 weights should keep the output within 30 dB, got " + db[8]);
        assertTrue(db[8] > db[6] && db[6] > db[4], "fewer bits, more error");
        assertTrue(e4m3 > 20 && e5m2 > 15 && e4m3 > e5m2, "FP8: E4M3 " + e4m3 + " dB, E5M2 " + e5m2 + " dB");

        // A stored checkpoint loads to exactly the same numbers as quantizing at load time.
        QuantizedCheckpoint.quantize(folder, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())).write(dir);
        try (UNetModel fromDisk = QuantizedUNets.loadCheckpoint(dir, kernels);
             UNetModel atLoad = QuantizedUNets.load(folder, kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()))) {
            assertArrayEquals(run(atLoad, WeightPrecision.uniform(4), sample, t, 3), run(fromDisk, WeightPrecision.uniform(4), sample, t, 3));
        }
    }

    @Test
    void modelLevelSensitivityFeedsTheKnapsack() throws Exception {
        Path folder = Fixtures.model("digits-16");
        Random rnd = new Random(5);
        float[] a = new float[2 * 16 * 16], b = new float[2 * 16 * 16];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextGaussian();
            b[i] = (float) rnd.nextGaussian();
        }
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(kernels));
             QuantizedUNets.Loaded q = QuantizedUNets.loadWithLayers(folder, kernels, QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
             Tensor xa = Tensor.of(a, 2, 1, 16, 16); Tensor xb = Tensor.of(b, 2, 1, 16, 16); Tensor labels = Tensor.of(new float[]{1, 7}, 2)) {
            assertTrue(q.layers().containsKey("down_blocks.0.resnets.0.time_emb_proj"));
            assertTrue(!q.layers().containsKey("conv_in") && !q.layers().containsKey("down_blocks.1.resnets.0.conv_shortcut"));
            java.util.List<UNetInputs> inputs = java.util.List.of(
                    UNetInputs.builder(xa, Timestep.of(900)).classLabels(labels).build(),
                    UNetInputs.builder(xb, Timestep.of(100)).classLabels(labels).build());
            UNetSensitivityProbe probe = new UNetSensitivityProbe(f, q.model(), inputs);
            assertTrue(probe.baseline() > 0);
            java.util.Map<String, dev.unet4j.quantization.QuantizedTensor> some = new java.util.LinkedHashMap<>();
            for (String p : new String[]{"down_blocks.0.resnets.0.conv1", "mid_block.resnets.0.conv2", "up_blocks.0.attentions.0.to_v", "up_blocks.2.resnets.2.conv2"}) {
                some.put(p, q.layers().get(p));
            }
            java.util.List<dev.unet4j.quantization.mixed.LayerSensitivity> sens =
                    dev.unet4j.quantization.mixed.SensitivityAnalysis.measure(UNetSensitivityProbe.shapes(some), new int[]{2, 4, 8}, probe);
            for (dev.unet4j.quantization.mixed.LayerSensitivity ls : sens) {
                System.out.println("sensitivity " + ls.layer() + ": " + ls.options());
                double s2 = ls.options().get(0).sensitivity(), s4 = ls.options().get(1).sensitivity(), s8 = ls.options().get(2).sensitivity();
                assertTrue(s2 > s4 && s2 > s8 && s8 == probe.baseline(), ls.toString());
            }
            long min = sens.stream().mapToLong(l -> l.options().get(0).bytes()).sum();
            long max = sens.stream().mapToLong(l -> l.options().get(2).bytes()).sum();
            dev.unet4j.quantization.mixed.MixedPrecisionKnapsack.Assignment plan =
                    dev.unet4j.quantization.mixed.MixedPrecisionKnapsack.solve(sens, (min + max) / 2);
            System.out.println("assignment within " + (min + max) / 2 + " bytes: " + plan);
            assertTrue(plan.bytes() <= (min + max) / 2);
            assertTrue(plan.bits().containsValue(8) || plan.bits().containsValue(4), plan.toString());
        }
    }

    @Test
    void biasCorrectionFromACalibrationRunImprovesLowBitOutputs() throws Exception {
        Path folder = Fixtures.model("digits-16");
        dev.unet4j.quantization.activation.Calibrator cal = new dev.unet4j.quantization.activation.Calibrator(4);
        dev.unet4j.quantization.activation.CalibrationContext ctx = new dev.unet4j.quantization.activation.CalibrationContext(cal);
        Random rnd = new Random(8);
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(kernels).withLayerFactory(k -> new CalibratingLayerFactory(dev.unet4j.unet.LayerFactory.of(k))));
             UNetSession s = f.newSession()) {
            s.workspace().attributes().put(dev.unet4j.quantization.activation.CalibrationContext.class, ctx);
            s.setInterceptor(new dev.unet4j.quantization.activation.CalibratingInterceptor(ctx));
            for (int t : new int[]{950, 650, 350, 50}) {
                float[] sample = new float[2 * 16 * 16];
                for (int i = 0; i < sample.length; i++) sample[i] = (float) rnd.nextGaussian();
                ctx.setTimestep(t);
                try (Tensor x = Tensor.of(sample, 2, 1, 16, 16); Tensor labels = Tensor.of(new float[]{2, 9}, 2);
                     Tensor y = s.forward(UNetInputs.builder(x, Timestep.of(t)).classLabels(labels).build())) {
                    assertTrue(y.numel() > 0);
                }
            }
        }
        float[] sample = new float[2 * 16 * 16];
        for (int i = 0; i < sample.length; i++) sample[i] = (float) rnd.nextGaussian();
        long t = 400;
        float[] ref;
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(kernels))) {
            ref = run(f, null, sample, t, 6);
        }
        QuantizationPlan plan = QuantizationPlan.defaults(WeightQuantizer.int8PerChannel());
        double[] plain = new double[9], corrected = new double[9];
        try (QuantizedUNets.Loaded p = QuantizedUNets.loadWithLayers(folder, kernels, plan);
             QuantizedUNets.Loaded c = QuantizedUNets.loadWithLayers(folder, kernels, plan, cal::channelMeans)) {
            for (int bits : new int[]{8, 4, 2}) {
                plain[bits] = sqnrDb(ref, run(p.model(), WeightPrecision.uniform(bits), sample, t, 6));
                corrected[bits] = sqnrDb(ref, run(c.model(), WeightPrecision.uniform(bits), sample, t, 6));
            }
        }
        System.out.printf("digits-16 output SQNR without / with bias correction: 8-bit %.2f / %.2f dB, 4-bit %.2f / %.2f dB, 2-bit %.2f / %.2f dB%n",
                plain[8], corrected[8], plain[4], corrected[4], plain[2], corrected[2]);
        assertTrue(corrected[4] > plain[4] && corrected[2] > plain[2], "bias correction should help at low precision");
    }
}
