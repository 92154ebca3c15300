package dev.unet4j.quantization.activation;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ActivationQuantizationTest {

    @Test
    void symmetricS8UsesAmaxOver127AndZeroPointZero() {
        ActivationQuantParams p = ActivationScheme.SYMMETRIC_S8.params(-2.54f, 1f);
        assertEquals(0.02f, p.scale(), 1e-9f);
        assertEquals(0, p.zeroPoint());
        assertEquals(-127, p.quantize(-2.54f));
        assertEquals(-127, p.quantize(-100f));
        assertEquals(50, p.quantize(1f));     // 1 / 0.02 = 50
        assertEquals(2, p.quantize(0.05f));   // 2.5 -> 2 (ties to even)
        assertEquals(1f, p.fakeQuantize(1f), 1e-6f);
    }

    @Test
    void asymmetricU8CoversTheRangeWithAnExactZero() {
        // Post-SiLU-like range [-0.25, 2.3]: scale = 2.55 / 255 = 0.01, zero point = 25.
        ActivationQuantParams p = ActivationScheme.ASYMMETRIC_U8.params(-0.25f, 2.3f);
        assertEquals(0.01f, p.scale(), 1e-8f);
        assertEquals(25, p.zeroPoint());
        assertEquals(0f, p.fakeQuantize(0f));
        assertEquals(0, p.quantize(-0.25f));
        assertEquals(255, p.quantize(2.3f));
        assertEquals(255, p.quantize(9f));
        assertEquals(125, p.quantize(1f));
        // A range that excludes zero is widened to include it.
        ActivationQuantParams pos = ActivationScheme.ASYMMETRIC_U8.params(1f, 2.55f);
        assertEquals(0, pos.zeroPoint());
        assertEquals(0.01f, pos.scale(), 1e-8f);
    }

    @Test
    void allZeroRangeGivesAUsableQuantizer() {
        for (ActivationScheme s : ActivationScheme.values()) {
            ActivationQuantParams p = s.params(0f, 0f);
            assertEquals(1f, p.scale());
            assertEquals(0f, p.fakeQuantize(0f));
        }
    }

    @Test
    void perTokenScalesFollowEachRow() {
        float[] x = {1, -2, 0.5f, /**/ 100, 20, -3, /**/ 0, 0, 0};
        ActivationQuantParams[] p = DynamicActivationQuantizer.perToken(ActivationScheme.SYMMETRIC_S8, x, 3);
        assertEquals(3, p.length);
        assertEquals(2f / 127, p[0].scale(), 1e-9f);
        assertEquals(100f / 127, p[1].scale(), 1e-7f);
        assertEquals(1f, p[2].scale());
        ActivationQuantParams whole = DynamicActivationQuantizer.perTensor(ActivationScheme.SYMMETRIC_S8, x);
        assertEquals(100f / 127, whole.scale(), 1e-7f);
        float[] y = x.clone();
        DynamicActivationQuantizer.fakeQuantizePerToken(ActivationScheme.SYMMETRIC_S8, y, 3);
        for (int i = 0; i < x.length; i++) assertTrue(Math.abs(y[i] - x[i]) <= p[i / 3].scale() / 2 + 1e-6f, "element " + i);
        try (Tensor t = Tensor.of(x, 1, 3, 3)) {
            ActivationQuantParams[] q = DynamicActivationQuantizer.perToken(ActivationScheme.ASYMMETRIC_U8, t);
            assertEquals(3, q.length);
            assertEquals(3f / 255, q[0].scale(), 1e-8f); // range [-2, 1]
            assertEquals(170, q[0].zeroPoint());         // rint(2 / (3/255)) = 170
        }
    }

    @Test
    void calibratorKeepsRangesPerSitePerTimestepAndSplitsConcatInputs() {
        Calibrator cal = new Calibrator();
        String node = "up_blocks.1.resnets.0.conv1";
        int[] steps = Calibrator.spreadTimesteps(IntStream.rangeClosed(0, 49).map(i -> 980 - 20 * i).toArray(), 20);
        assertEquals(20, steps.length);
        assertEquals(980, steps[0]);
        assertEquals(0, steps[19]);
        for (int k = 0; k < steps.length; k++) {
            float amp = 1 + k;
            try (Tensor hidden = Tensor.of(new float[]{-amp, amp / 2}, 1, 2, 1, 1);
                 Tensor skip = Tensor.of(new float[]{0.01f * amp, -0.02f}, 1, 2, 1, 1)) {
                cal.observeConcat(node, steps[k], hidden, skip);
                if (k < 19) assertThrows(IllegalStateException.class, () -> cal.scales(ActivationScheme.SYMMETRIC_S8));
            }
        }
        assertEquals(20, cal.timesteps().size());
        assertEquals(new ActivationRange(-20f, 10f, 2), cal.range(ActivationSite.concatHidden(node), 0));
        assertEquals(new ActivationRange(-1f, 0.5f, 2), cal.range(ActivationSite.concatHidden(node), 980));
        StaticActivationScales scales = cal.scales(ActivationScheme.SYMMETRIC_S8);
        StaticActivationScales.Concat c = scales.concat(node);
        assertEquals(20f / 127, c.hidden().scale(), 1e-7f);
        assertEquals(0.2f / 127, c.skip().scale(), 1e-9f);
        assertArrayEquals(new Object[]{"up_blocks.1.resnets.0.conv1#hidden", "up_blocks.1.resnets.0.conv1#skip"},
                cal.sites().stream().map(Object::toString).toArray());
    }

    @Test
    void channelMeansFollowTheChannelDimensionAndJoinConcatHalves() {
        Calibrator cal = new Calibrator(1);
        // NCHW [2, 2, 1, 2]: channel 0 = {1, 3, 5, 7}, channel 1 = {10, 10, 20, 20}.
        try (Tensor img = Tensor.of(new float[]{1, 3, 10, 10, 5, 7, 20, 20}, 2, 2, 1, 2);
             Tensor tokens = Tensor.of(new float[]{1, 2, 3, 5, 6, 7}, 1, 2, 3);
             Tensor skip = Tensor.of(new float[]{-4, -4}, 1, 1, 1, 2)) {
            cal.observe("conv", 0, img);
            cal.observe("conv", 1, img);
            cal.observe("lin", 0, tokens);
            cal.observeConcat("cat", 0, img, skip);
        }
        assertArrayEquals(new float[]{4, 15}, cal.channelMeans("conv"));
        assertArrayEquals(new float[]{3, 4, 5}, cal.channelMeans("lin"));
        assertArrayEquals(new float[]{4, 15, -4}, cal.channelMeans("cat"));
        assertEquals(null, cal.channelMeans("absent"));
    }
}
