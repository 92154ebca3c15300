package dev.unet4j.zoo;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.mixed.LayerSensitivity;
import dev.unet4j.quantization.mixed.ModelOutputProbe;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.nn.WeightFootprint;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * int8 weights (W8A32) and int8 weights and activations (W8A8) reach the segmentation UNets through the quantization
 * module's layer factory, as for the diffusion UNets: every 2-D convolution, and every 3-D one of the DDoS-UNet, is
 * quantized, and the accuracy cost against float32 on the fixtures' inputs is measured (max|delta| relative to
 * max|float32| and the Dice overlap of the masks thresholded at logit 0).
 */
class ZooQuantizationTest extends ZooFixtureTest {
    record Cost(double relMaxDelta, double dice, int quantizedLayers) {
    }

    private Cost cost(String fixture, String scheme, String output) throws Exception {
        return cost(fixture, scheme, output, null);
    }

    /** {@code referenceOutput} (if not null) receives the quantized output of the same scheme on the reference backend. */
    private Cost cost(String fixture, String scheme, String output, float[][] referenceOutput) throws Exception {
        try (ZooFixture fx = new ZooFixture(fixture)) {
            Tensor x = fx.inputs.get("x");
            float[] ref;
            try (ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession()) {
                Map<String, Tensor> out = s.forward(x);
                ref = out.get(output).toFloatArray();
                out.values().forEach(Tensor::close);
            }
            QuantSpec q = QuantSpec.parse(scheme);
            QuantizingLayerFactory f = q.layerFactory(dnnl, q.weightSource());
            try (ZooModel<?> m = ZooModel.load(fx.dir, LoadOptions.of(dnnl).withLayerFactory(k -> f)); ZooSession s = m.newSession()) {
                s.workspace().attributes().put(WeightPrecision.class, q.precision());
                Map<String, Tensor> out = s.forward(x);
                float[] got = out.get(output).toFloatArray();
                out.values().forEach(Tensor::close);
                MaskAgreement agreement = MaskAgreement.of(ref, got);
                WeightFootprint.LayerKind kind = q.activations() != null ? WeightFootprint.LayerKind.W8A8 : WeightFootprint.LayerKind.W8A32;
                int quantized = (int) f.footprint().layers().values().stream().filter(k -> k == kind).count();
                Cost c = new Cost(agreement.relativeMaxDelta(), agreement.dice(), quantized);
                System.out.printf("%s %s %s: max|delta|/max|fp32| %.4f, Dice %.4f, %d layers %s, weights %s%n", fixture, scheme, output,
                        c.relMaxDelta(), c.dice(), c.quantizedLayers(), kind, f.footprint());
                if (referenceOutput != null) referenceOutput[0] = got;
                return c;
            }
        }
    }

    /**
     * Bounds measured on these random-weight tiny fixtures (not a quality claim for trained models), with margin:
     * UNet++ int8 0.042 / Dice 0.991, int8-w8a8 0.176 / 0.946; MK-UNet int8 0.215 / 0.981, int8-w8a8 0.472 / 0.958
     * (dynamic per-tensor activation scales on MK-UNet's narrow, BatchNorm-scaled maps cost the most).
     */
    @Test
    void unetPlusPlusInt8() throws Exception {
        Cost w8a32 = cost(ZooFixture.UNETPP, "int8", "output.0"), w8a8 = cost(ZooFixture.UNETPP, "int8-w8a8", "output.0");
        for (Cost c : new Cost[]{w8a32, w8a8}) {
            assertEquals(47, c.quantizedLayers(), "every 2-D conv (37 3x3, 5 strided, 5 heads); the 15 transposed convs stay float32");
        }
        assertTrue(w8a32.relMaxDelta() > 0 && w8a32.relMaxDelta() < 0.06 && w8a32.dice() > 0.98, "int8: " + w8a32);
        assertTrue(w8a8.relMaxDelta() > 0 && w8a8.relMaxDelta() < 0.25 && w8a8.dice() > 0.92, "int8-w8a8: " + w8a8);
    }

    @Test
    void mkUNetInt8() throws Exception {
        Cost w8a32 = cost(ZooFixture.MKUNET, "int8", "output"), w8a8 = cost(ZooFixture.MKUNET, "int8-w8a8", "output");
        for (Cost c : new Cost[]{w8a32, w8a8}) {
            assertEquals(86, c.quantizedLayers(), "every conv of MK-UNet (39 1x1, 30 depth-wise, 8 grouped, 8 1x1 with bias, SA's 7x7)");
        }
        assertTrue(w8a32.relMaxDelta() > 0 && w8a32.relMaxDelta() < 0.3 && w8a32.dice() > 0.97, "int8: " + w8a32);
        assertTrue(w8a8.relMaxDelta() > 0 && w8a8.relMaxDelta() < 0.6 && w8a8.dice() > 0.94, "int8-w8a8: " + w8a8);
    }

    /**
     * The DDoS-UNet's 13 3-D convolutions (6 in the down path, 3 per up block with the 1x1x1 after the trilinear
     * up-sampling, the 1x1x1 head) through the same seam, every 8-bit scheme; bounds measured on the random-weight
     * tiny fixture with margin (int8 0.021 / Dice 0.995, int8-w8a8 0.047 / 0.989, fp8-e4m3 0.134 / 0.975, fp8-e5m2
     * 0.199 / 0.962, dr:6 0.094 / 0.980; FP8's 3- and 2-bit mantissas cost more than int8's 127 steps per channel).
     */
    @Test
    void ddosUNetEveryEightBitScheme() throws Exception {
        Map<String, double[]> bounds = new java.util.LinkedHashMap<>(); // scheme -> {max rel delta, min Dice}
        bounds.put("int8", new double[]{0.04, 0.99});
        bounds.put("int8-w8a8", new double[]{0.08, 0.98});
        bounds.put("fp8-e4m3", new double[]{0.2, 0.96});
        bounds.put("fp8-e5m2", new double[]{0.3, 0.94});
        bounds.put("dr:6", new double[]{0.15, 0.96});
        for (Map.Entry<String, double[]> e : bounds.entrySet()) {
            Cost c = cost(ZooFixture.DDOS, e.getKey(), "output");
            assertEquals(13, c.quantizedLayers(), e.getKey() + ": every 3-D convolution");
            assertTrue(c.relMaxDelta() > 0 && c.relMaxDelta() < e.getValue()[0] && c.dice() > e.getValue()[1], e.getKey() + ": " + c);
        }
    }

    /** The W8A32 DDoS-UNet on the plain-Java reference backend equals oneDNN's (each decodes the same codes). */
    @Test
    void ddosUNetInt8OnBothBackends() throws Exception {
        float[][] onednn = new float[1][];
        cost(ZooFixture.DDOS, "int8", "output", onednn);
        dev.unet4j.core.kernels.ReferenceKernels ref = new dev.unet4j.core.kernels.ReferenceKernels();
        try (ZooFixture fx = new ZooFixture(ZooFixture.DDOS)) {
            QuantSpec q = QuantSpec.parse("int8");
            QuantizingLayerFactory f = q.layerFactory(ref, q.weightSource());
            try (ZooModel<?> m = ZooModel.load(fx.dir, LoadOptions.of(ref).withLayerFactory(k -> f)); ZooSession s = m.newSession()) {
                Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
                float[] got = out.get("output").toFloatArray();
                out.values().forEach(Tensor::close);
                double rel = MaskAgreement.of(got, onednn[0]).relativeMaxDelta();
                System.out.printf("DDoS-UNet int8: max|oneDNN - reference| / max|reference| %.2e%n", rel);
                assertEquals(13, f.quantizedLayers().size());
                assertTrue(rel <= 1e-4, "oneDNN vs reference, int8 DDoS-UNet: " + rel);
            }
        }
    }

    /** Every output of {@code m} on {@code x} (in {@link ZooModel#outputNames()} order), its session at {@code precision} (null: none). */
    private static List<float[]> outputs(ZooModel<?> m, WeightPrecision precision, Tensor x) {
        try (ZooSession s = m.newSession()) {
            if (precision != null) s.workspace().attributes().put(WeightPrecision.class, precision);
            Map<String, Tensor> out = s.forward(x);
            List<float[]> values = new ArrayList<>();
            for (String name : m.outputNames()) values.add(out.get(name).toFloatArray());
            out.values().forEach(Tensor::close);
            return values;
        }
    }

    /**
     * {@code mixed:5} (5 bits per weight on average) through the same seam as the diffusion UNets, the sensitivity
     * probe running the segmentation UNet on the fixture's {@code x} against float32: the chosen widths fit the
     * knapsack's budget (recounted here per layer), it mixes widths, and its output error lies between the all-8-bit
     * model's (every layer at its best width) and the all-4-bit one's (a feasible assignment the knapsack beats).
     * Measured on the random-weight tiny fixtures (bounds with margin): UNet++ {4=9, 6=8, 8=30} layers, MSE 3.1e-4 /
     * 7.3e-4 / 7.3e-2 (all-8 / mixed / all-4), output.0 0.108 / Dice 0.981; MK-UNet {2=2, 4=21, 6=33, 8=30}, MSE
     * 3.3e-2 / 0.27 / 1.4, 0.895 / Dice 0.953 (its BatchNorm-scaled depth-wise maps amplify a few coarse layers).
     */
    private void mixed(String fixture, int layers, double maxRelDelta, double minDice) throws Exception {
        try (ZooFixture fx = new ZooFixture(fixture)) {
            Tensor x = fx.inputs.get("x");
            List<float[]> reference;
            try (ZooModel<?> m = fx.load(dnnl)) {
                reference = outputs(m, null, x);
            }
            QuantSpec q = QuantSpec.parse("mixed:5");
            QuantizingLayerFactory f = q.layerFactory(dnnl, q.weightSource());
            try (ZooModel<?> m = ZooModel.load(fx.dir, LoadOptions.of(dnnl).withLayerFactory(k -> f))) {
                WeightPrecision mixed = q.mixedPrecision(f, reference, p -> outputs(m, p, x));
                Map<String, QuantizedTensor> quantized = f.quantizedLayers();
                assertEquals(layers, quantized.size(), "every conv quantized");
                Map<Integer, Integer> perWidth = new TreeMap<>();
                long bytes = 0;
                for (Map.Entry<String, QuantizedTensor> e : quantized.entrySet()) {
                    int bits = mixed.bitsFor(e.getKey());
                    perWidth.merge(bits, 1, Integer::sum);
                    QuantizedTensor t = e.getValue();
                    bytes += LayerSensitivity.packedBytes((long) t.channels() * t.channelLength(), t.scales().length, bits);
                }
                long budget = q.budget().knapsackBytes(f.footprint(), quantized);
                ModelOutputProbe probe = new ModelOutputProbe(reference, p -> outputs(m, p, x));
                double all8 = probe.baseline(), mix = probe.error(mixed), all4 = probe.error(WeightPrecision.uniform(4));
                List<float[]> got = outputs(m, mixed, x);
                MaskAgreement agreement = MaskAgreement.of(reference.get(0), got.get(0));
                System.out.printf("%s mixed:5: layers per bit width %s, %d of %d budget bytes; MSE all-8 %.3e, mixed %.3e, all-4 %.3e;"
                                + " %s max|delta|/max|fp32| %.4f, Dice %.4f%n", fixture, perWidth, bytes, budget, all8, mix, all4,
                        m.outputNames().get(0), agreement.relativeMaxDelta(), agreement.dice());
                assertTrue(bytes <= budget, bytes + " bytes over the budget of " + budget);
                assertTrue(perWidth.size() >= 2, "a mix of widths: " + perWidth);
                assertTrue(all8 <= mix && mix < all4, "all-8 " + all8 + " <= mixed " + mix + " < all-4 " + all4);
                assertTrue(agreement.relativeMaxDelta() > 0 && agreement.relativeMaxDelta() < maxRelDelta && agreement.dice() > minDice, "mixed:5: " + agreement.relativeMaxDelta() + ", Dice " + agreement.dice());
            }
        }
    }

    @Test
    void unetPlusPlusMixed() throws Exception {
        mixed(ZooFixture.UNETPP, 47, 0.2, 0.96);
    }

    @Test
    void mkUNetMixed() throws Exception {
        mixed(ZooFixture.MKUNET, 86, 1.2, 0.93);
    }
}
