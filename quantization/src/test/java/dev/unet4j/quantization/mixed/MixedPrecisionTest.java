package dev.unet4j.quantization.mixed;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightQuantizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixedPrecisionTest {

    static List<LayerSensitivity> randomInstance(Random rnd, int layers) {
        List<LayerSensitivity> out = new ArrayList<>();
        int[] bits = {2, 4, 6, 8};
        for (int l = 0; l < layers; l++) {
            int params = 1 + rnd.nextInt(200);
            List<LayerOption> opts = new ArrayList<>();
            double s = rnd.nextDouble() * 10;
            for (int b : bits) {
                opts.add(new LayerOption(b, LayerSensitivity.packedBytes(params, 1 + rnd.nextInt(4), b), s));
                s *= rnd.nextDouble(); // more bits: less error
            }
            out.add(new LayerSensitivity("layer" + l, opts));
        }
        return out;
    }

    /** Exhaustive enumeration of all option combinations. */
    static double bruteForce(List<LayerSensitivity> layers, long budget) {
        int n = layers.size();
        int[] idx = new int[n];
        double best = Double.POSITIVE_INFINITY;
        while (true) {
            long bytes = 0;
            double s = 0;
            for (int l = 0; l < n; l++) {
                LayerOption o = layers.get(l).options().get(idx[l]);
                bytes += o.bytes();
                s += o.sensitivity();
            }
            if (bytes <= budget) best = Math.min(best, s);
            int l = 0;
            while (l < n && ++idx[l] == layers.get(l).options().size()) idx[l++] = 0;
            if (l == n) return best;
        }
    }

    @Test
    void knapsackMatchesBruteForceOnRandomInstances() {
        Random rnd = new Random(99);
        for (int trial = 0; trial < 300; trial++) {
            List<LayerSensitivity> layers = randomInstance(rnd, 1 + rnd.nextInt(6));
            long min = 0, max = 0;
            for (LayerSensitivity l : layers) {
                min += l.options().stream().mapToLong(LayerOption::bytes).min().orElseThrow();
                max += l.options().stream().mapToLong(LayerOption::bytes).max().orElseThrow();
            }
            long budget = min + (long) (rnd.nextDouble() * (max - min + 1));
            double expected = bruteForce(layers, budget);
            MixedPrecisionKnapsack.Assignment a = MixedPrecisionKnapsack.solve(layers, budget, 1);
            assertEquals(expected, a.sensitivity(), 1e-9 * (1 + expected), "trial " + trial);
            assertTrue(a.bytes() <= budget, "trial " + trial + " exceeds the budget");
            // The reported totals are those of the reported bits.
            long bytes = 0;
            double s = 0;
            for (LayerSensitivity l : layers) {
                int bits = a.bits().get(l.layer());
                LayerOption o = l.options().stream().filter(x -> x.bits() == bits).findFirst().orElseThrow();
                bytes += o.bytes();
                s += o.sensitivity();
            }
            assertEquals(bytes, a.bytes());
            assertEquals(s, a.sensitivity(), 1e-12);
            // A coarser granularity (rounding each option up by < 7 bytes, so feasible with this slack) stays within
            // budget and is never better than the exact optimum.
            if (budget >= min + 7L * layers.size()) {
                MixedPrecisionKnapsack.Assignment coarse = MixedPrecisionKnapsack.solve(layers, budget, 7);
                assertTrue(coarse.bytes() <= budget && coarse.sensitivity() >= expected - 1e-9, "trial " + trial);
            }
        }
    }

    @Test
    void knapsackRejectsAnImpossibleBudget() {
        List<LayerSensitivity> layers = List.of(new LayerSensitivity("a", List.of(new LayerOption(4, 100, 1), new LayerOption(8, 200, 0))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MixedPrecisionKnapsack.solve(layers, 99, 1));
        assertTrue(e.getMessage().contains("100 bytes"), e.getMessage());
        assertEquals(Map.of("a", 8), MixedPrecisionKnapsack.solve(layers, 200, 1).bits());
        assertEquals(8, MixedPrecisionKnapsack.solve(layers, 200, 1).toPrecision(8).bitsFor("a"));
        assertEquals(4, MixedPrecisionKnapsack.solve(layers, 199, 1).toPrecision(8).bitsFor("a"));
    }

    @Test
    void sensitivityFromLayerOutputsDropsWithBitsAndPricesPackedStorage() {
        Random rnd = new Random(1);
        float[] w = new float[16 * 32], x = new float[64 * 32];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        LinearOutputErrorProbe probe = new LinearOutputErrorProbe(Map.of("l", new LinearOutputErrorProbe.Layer(w, 16, 32, x)));
        List<LayerSensitivity> s = SensitivityAnalysis.measure(List.of(new SensitivityAnalysis.LayerShape("l", 16 * 32, 16)), new int[]{2, 4, 8}, probe);
        List<LayerOption> o = s.get(0).options();
        assertEquals(16 * 32 * 2 / 8 + 64, o.get(0).bytes());
        assertEquals(16 * 32 + 64, o.get(2).bytes());
        assertTrue(o.get(0).sensitivity() > o.get(1).sensitivity() && o.get(1).sensitivity() > o.get(2).sensitivity(), o.toString());
        // 8-bit output error ~ k * E[x^2] * step^2 / 12 with step = amax/127 (amax of 32 Gaussians ~ 2.1..2.5).
        assertTrue(o.get(2).sensitivity() > 32 * Math.pow(1.5 / 127, 2) / 12 && o.get(2).sensitivity() < 32 * Math.pow(3.5 / 127, 2) / 12, o.toString());
    }

    @Test
    void biasCorrectionRemovesTheMeanOutputShift() {
        Random rnd = new Random(8);
        int out = 6, in = 10, rows = 500;
        float[] w = new float[out * in], bias = new float[out], x = new float[rows * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < out; i++) bias[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextGaussian() + 2.0 + (i % in) * 0.3); // strongly non-zero mean
        QuantizedTensor q = WeightQuantizer.int8PerChannel().quantize("w", w, new long[]{out, in});
        float[] wq = q.dequantize(4);
        float[] corrected = BiasCorrection.linear(bias, w, wq, out, in, BiasCorrection.channelMeans(x, in));
        double maxBefore = 0, maxAfter = 0;
        for (int o = 0; o < out; o++) {
            double before = 0, after = 0;
            for (int r = 0; r < rows; r++) {
                double y = bias[o], yq = bias[o], yc = corrected[o];
                for (int i = 0; i < in; i++) {
                    y += (double) w[o * in + i] * x[r * in + i];
                    yq += (double) wq[o * in + i] * x[r * in + i];
                    yc += (double) wq[o * in + i] * x[r * in + i];
                }
                before += yq - y;
                after += yc - y;
            }
            maxBefore = Math.max(maxBefore, Math.abs(before / rows));
            maxAfter = Math.max(maxAfter, Math.abs(after / rows));
        }
        assertTrue(maxBefore > 0.05, "4-bit weights should shift the mean output, got " + maxBefore);
        assertTrue(maxAfter < 1e-5, "corrected mean shift " + maxAfter);
    }

    @Test
    void convBiasCorrectionSumsOverTapsAndRespectsGroups() {
        Conv2dSpec spec = new Conv2dSpec(4, 2, 1, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2); // 2 groups: out 0 <- in {0,1}, out 1 <- in {2,3}
        float[] w = new float[2 * 2 * 2];
        float[] wq = {1, 0, 0, 0, /**/ 0, 0, 0.5f, 0.5f}; // dw = wq - w with w = 0
        float[] mean = {10, 100, 1000, 10000};
        float[] b = BiasCorrection.conv2d(spec, new float[]{1, 2}, w, wq, mean);
        assertEquals(1 - 10, b[0], 0f);          // tap (ic 0, kw 0) x mean[0]
        assertEquals(2 - 10000, b[1], 0f);       // taps of ic 1 of group 1 = in 3
    }
}
