package dev.unet4j.quantization;

import dev.unet4j.core.codes.Fp8Format;
import dev.unet4j.core.codes.Fp8Overflow;
import dev.unet4j.core.codes.WeightFormat;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightQuantizerTest {

    @Test
    void int8PerChannelMatchesHandComputedCodes() {
        float[] w = {
                127f, -63.5f, 0.5f, 1.5f, 2.5f, -127f,   // amax 127 -> scale 1; -63.5 -> -64 and 0.5 -> 0 and 2.5 -> 2 (ties to even)
                0f, 0f, 0f, 0f, 0f, 0f,                  // all zero -> scale 1, codes 0
                254f, 1f, 3f, -3f, 5f, -254f};           // amax 254 -> scale 2; 1/2 -> 0, 3/2 -> 2, 5/2 -> 2
        QuantizedTensor q = WeightQuantizer.int8PerChannel().quantize("w", w, new long[]{3, 2, 3});
        assertArrayEquals(new float[]{1f, 1f, 2f}, q.scales());
        assertArrayEquals(new byte[]{127, -64, 0, 2, 2, -127, 0, 0, 0, 0, 0, 0, 127, 0, 2, -2, 2, -127}, q.codes());
        assertArrayEquals(new float[]{127, -64, 0, 2, 2, -127, 0, 0, 0, 0, 0, 0, 254, 0, 4, -4, 4, -254}, q.dequantize());
        assertEquals(Granularity.PER_OUTPUT_CHANNEL, q.granularity());
        assertEquals(18 + 12, q.storageBytes());
    }

    @Test
    void int8PerTensorUsesTheGlobalAmaxAndErrorsStayWithinHalfAStep() {
        Random rnd = new Random(7);
        float[] w = new float[8 * 50];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * (1 + i / 50));
        float amax = 0;
        for (float v : w) amax = Math.max(amax, Math.abs(v));
        QuantizedTensor q = WeightQuantizer.of(WeightFormat.INT8, Granularity.PER_TENSOR).quantize("w", w, new long[]{8, 50});
        assertEquals(Granularity.PER_TENSOR, q.granularity());
        float scale = amax / 127f;
        assertEquals(scale, q.scale(5));
        float[] d = q.dequantize();
        for (int i = 0; i < w.length; i++) {
            assertTrue(Math.abs(d[i] - w[i]) <= scale * 0.5f * (1 + 1e-6f), "element " + i);
            assertTrue(Math.abs(q.code(i)) <= 127);
        }
    }

    @Test
    void fp8PerChannelScaleMapsAmaxToTheFormatMaximum() {
        Random rnd = new Random(3);
        float[] w = new float[4 * 64];
        for (int i = 0; i < w.length; i++) w[i] = (float) (rnd.nextGaussian() * Math.pow(10, -(i / 64)));
        for (WeightFormat fmt : new WeightFormat[]{WeightFormat.FP8_E4M3, WeightFormat.FP8_E5M2}) {
            Fp8Format f = fmt == WeightFormat.FP8_E4M3 ? Fp8Format.E4M3 : Fp8Format.E5M2;
            QuantizedTensor q = WeightQuantizer.of(fmt, Granularity.PER_OUTPUT_CHANNEL).quantize("w", w, new long[]{4, 64});
            float[] d = q.dequantize();
            for (int c = 0; c < 4; c++) {
                float amax = 0;
                for (int i = 0; i < 64; i++) amax = Math.max(amax, Math.abs(w[c * 64 + i]));
                assertEquals(amax / f.maxFinite(), q.scale(c), fmt + " channel " + c);
                for (int i = c * 64; i < c * 64 + 64; i++) {
                    assertEquals(f.decode(f.encode(w[i] / q.scale(c), Fp8Overflow.SATURATE)) * q.scale(c), d[i], fmt + " element " + i);
                    // Relative error of a normal FP8 value is at most half an ulp: 2^-(M+1).
                    if (Math.abs(w[i]) / q.scale(c) >= Math.scalb(1f, 1 - f.bias())) {
                        assertTrue(Math.abs(d[i] - w[i]) <= Math.abs(w[i]) * Math.scalb(1f, -f.mantissaBits() - 1) * 1.0001f, fmt + " element " + i);
                    }
                }
            }
        }
    }

    @Test
    void rejectsNonFiniteWeightsNamingTheTensor() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightQuantizer.int8PerChannel().quantize("up.conv.weight", new float[]{1, Float.NaN}, new long[]{1, 2}));
        assertTrue(e.getMessage().contains("up.conv.weight"));
    }

    @Test
    void percentileClipPicksTheNearestRank() {
        float[] v = new float[100];
        for (int i = 0; i < 100; i++) v[i] = (i % 2 == 0 ? 1 : -1) * (i + 1);
        assertEquals(99f, RangeSearch.percentile(99).clip(v, 0, 100, WeightFormat.INT8));
        assertEquals(50f, RangeSearch.percentile(50).clip(v, 0, 100, WeightFormat.INT8));
        assertEquals(100f, RangeSearch.percentile(100).clip(v, 0, 100, WeightFormat.INT8));
        QuantizedTensor q = new WeightQuantizer(WeightFormat.INT8, Granularity.PER_TENSOR, RangeSearch.percentile(99)).quantize("w", v, new long[]{1, 100});
        assertEquals(99f / 127f, q.scale(0));
        assertEquals(-127, q.code(99)); // -100 saturates
        assertEquals(127, q.code(98));  // 99 is the clip
    }

    @Test
    void mseClipIsTheBestRatioOfTheGridAndClipsHeavyTails() {
        Random rnd = new Random(11);
        float[] v = new float[100_000];
        float amax = 0;
        for (int i = 0; i < v.length; i++) {
            // Laplace(b = 1): the 8-bit MSE optimum clips near 9.9 b (Banner et al., ACIQ) below the sample amax of ~11.5 b.
            v[i] = (float) (-Math.signum(rnd.nextDouble() - 0.5) * Math.log(1 - rnd.nextDouble()));
            amax = Math.max(amax, Math.abs(v[i]));
        }
        int steps = 50;
        double minRatio = 0.02;
        float clip = RangeSearch.mse(steps, minRatio).clip(v, 0, v.length, WeightFormat.INT8);
        // Independent brute force over the same grid with a plain round-and-clamp.
        double bestErr = Double.POSITIVE_INFINITY;
        float bestClip = Float.NaN;
        for (int s = steps - 1; s >= 0; s--) {
            float c = (float) ((minRatio + (1 - minRatio) * s / (steps - 1)) * amax);
            float scale = c / 127f;
            double err = 0;
            for (float x : v) {
                double q = Math.max(-127, Math.min(127, Math.rint(x / scale)));
                err += (q * scale - x) * (q * scale - x);
            }
            if (err < bestErr) {
                bestErr = err;
                bestClip = c;
            }
        }
        assertEquals(bestClip, clip);
        assertTrue(clip < 0.95f * amax, "clip " + clip + " should cut the tail of amax " + amax);
    }

    @Test
    void rejectsInt8CodeMinus128() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantizedTensor("ckpt.w", WeightFormat.INT8, new long[]{1, 2}, new byte[]{3, -128}, new float[]{1f}));
        assertTrue(e.getMessage().contains("ckpt.w") && e.getMessage().contains("-128"), e.getMessage());
        // FP8 code 0x80 is -0.0 and valid.
        assertEquals(-0f, new QuantizedTensor("f", WeightFormat.FP8_E4M3, new long[]{1, 1}, new byte[]{-128}, new float[]{1f}).dequantize()[0]);
    }
}
