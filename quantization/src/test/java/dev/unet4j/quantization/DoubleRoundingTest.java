package dev.unet4j.quantization;

import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.MiniSafetensors;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DoubleRoundingTest {

    /** The rule restated with decimal arithmetic: q8 / 2^(8-l) rounded half-even, clamped to +-(2^(l-1) - 1). */
    static int statement(int q8, int bits) {
        BigDecimal quotient = new BigDecimal(q8).divide(new BigDecimal(1 << (8 - bits)));
        int r = quotient.setScale(0, RoundingMode.HALF_EVEN).intValueExact();
        int max = (1 << (bits - 1)) - 1;
        return Math.max(-max, Math.min(max, r));
    }

    @Test
    void derivesEveryInt8InputLikeTheStatement() {
        for (int bits = 2; bits <= 8; bits++) {
            for (int q8 = -128; q8 <= 127; q8++) {
                assertEquals(statement(q8, bits), DoubleRounding.derive(q8, bits), "q8=" + q8 + " at " + bits + " bits");
            }
        }
        // Spot checks by hand: 4 bits divides by 16.
        assertEquals(0, DoubleRounding.derive(8, 4));    // 0.5 -> 0
        assertEquals(2, DoubleRounding.derive(24, 4));   // 1.5 -> 2
        assertEquals(-2, DoubleRounding.derive(-24, 4));
        assertEquals(7, DoubleRounding.derive(127, 4));  // 7.94 -> 8, clamped
        assertEquals(-1, DoubleRounding.derive(-96, 2)); // -1.5 -> -2, clamped to -1
    }

    @Test
    void scaledCodesAreTheDerivedIntegersInUnitsOfTheStoredScale() {
        for (int bits = 2; bits <= 8; bits++) {
            byte[] t = DoubleRounding.scaledCodes(bits);
            for (int q8 = -127; q8 <= 127; q8++) {
                assertEquals(statement(q8, bits) << (8 - bits), t[q8 & 0xFF], "q8=" + q8 + " at " + bits + " bits");
            }
        }
        assertEquals(112, DoubleRounding.scaledCodes(4)[127]); // 7 * 16: an int8 code again, so int8 kernels can run it
    }

    @Test
    void dequantizesDerivedPrecisionsWithTheDerivedScale() {
        Random rnd = new Random(5);
        float[] w = new float[3 * 40];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        QuantizedTensor q = WeightQuantizer.int8PerChannel().quantize("w", w, new long[]{3, 40});
        for (int bits : new int[]{2, 4, 6, 8}) {
            float[] d = q.dequantize(bits);
            for (int i = 0; i < w.length; i++) {
                int c = i / 40;
                float expected = statement(q.code(i), bits) * (q.scale(c) * (1 << (8 - bits)));
                assertEquals(expected, d[i], "element " + i + " at " + bits + " bits");
            }
            assertEquals(q.scale(1) * (1 << (8 - bits)), DoubleRounding.derivedScale(q.scale(1), bits));
        }
    }

    /** Signal power over error power of derived vs direct 4-bit rounding, per output channel. */
    record Sqnr(double derivedDb, double directDb) {
    }

    static Sqnr sqnr4(float[] w, long[] shape) {
        QuantizedTensor q = WeightQuantizer.int8PerChannel().quantize("w", w, shape);
        float[] derived = q.dequantize(4);
        int channels = (int) shape[0], len = w.length / channels;
        double signal = 0, errDerived = 0, errDirect = 0;
        for (int c = 0; c < channels; c++) {
            float amax = 0;
            for (int i = 0; i < len; i++) amax = Math.max(amax, Math.abs(w[c * len + i]));
            float scale4 = amax > 0 ? amax / 7 : 1;
            for (int i = c * len; i < (c + 1) * len; i++) {
                double direct = Math.max(-7, Math.min(7, Math.rint(w[i] / scale4))) * scale4;
                signal += (double) w[i] * w[i];
                errDerived += (derived[i] - w[i]) * (double) (derived[i] - w[i]);
                errDirect += (direct - w[i]) * (direct - w[i]);
            }
        }
        return new Sqnr(10 * Math.log10(signal / errDerived), 10 * Math.log10(signal / errDirect));
    }

    @Test
    void derivedFourBitIsWithinOneDecibelOfDirectRoundingOnGaussianWeights() {
        Random rnd = new Random(2024);
        long[] shape = {256, 576};
        float[] w = new float[256 * 576];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        Sqnr s = sqnr4(w, shape);
        System.out.printf("Gaussian 256x576: derived 4-bit SQNR %.3f dB, direct 4-bit %.3f dB%n", s.derivedDb(), s.directDb());
        assertTrue(Math.abs(s.derivedDb() - s.directDb()) <= 1.0, s.toString());
    }

    @Test
    void derivedFourBitIsWithinOneDecibelOfDirectRoundingOnRealWeights() throws Exception {
        Map<String, MiniSafetensors.Entry> tensors = MiniSafetensors.read(Fixtures.model("digits-16").resolve("diffusion_pytorch_model.safetensors")).entries();
        double signal = 0, errDerived = 0, errDirect = 0;
        int layers = 0;
        double worstGap = 0;
        String worst = "";
        for (Map.Entry<String, MiniSafetensors.Entry> e : tensors.entrySet()) {
            MiniSafetensors.Entry t = e.getValue();
            if (!e.getKey().endsWith(".weight") || t.shape().length < 2 || e.getKey().contains("embedding")) continue;
            Sqnr s = sqnr4(t.floats(), t.shape());
            double energy = 0;
            for (float v : t.floats()) energy += (double) v * v;
            signal += energy;
            errDerived += energy / Math.pow(10, s.derivedDb() / 10);
            errDirect += energy / Math.pow(10, s.directDb() / 10);
            layers++;
            if (s.directDb() - s.derivedDb() > worstGap) {
                worstGap = s.directDb() - s.derivedDb();
                worst = e.getKey() + " " + s;
            }
        }
        double derivedDb = 10 * Math.log10(signal / errDerived), directDb = 10 * Math.log10(signal / errDirect);
        System.out.printf("digits-16, %d conv/linear weights: derived 4-bit SQNR %.3f dB, direct 4-bit %.3f dB; worst layer gap %.3f dB (%s)%n",
                layers, derivedDb, directDb, worstGap, worst);
        assertTrue(layers > 30, "expected the model's conv and linear weights, found " + layers);
        assertTrue(Math.abs(derivedDb - directDb) <= 1.0, "derived " + derivedDb + " dB vs direct " + directDb + " dB");
    }
}
