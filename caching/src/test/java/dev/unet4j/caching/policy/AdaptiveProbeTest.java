package dev.unet4j.caching.policy;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The adaptive policy's probe distance against a plain double loop over logical elements. */
class AdaptiveProbeTest {

    private static double plain(float[] x, float[] r) {
        double num = 0, den = 0;
        for (int i = 0; i < x.length; i++) {
            num += Math.abs((double) x[i] - r[i]);
            den += Math.abs((double) r[i]);
        }
        return num / den;
    }

    @Test
    void relativeL1MatchesAPlainLoopOnDenseAndStridedTensors() {
        Random rnd = new Random(5);
        // 3*7*13*29 = 7917 elements: one full 4096 block, a partial one, and a tail that is not a multiple of 4
        try (Tensor a = Tensor.allocateChannelsLast(Allocator.direct(), 3, 7, 13, 29); Tensor ref = Tensor.allocateChannelsLast(Allocator.direct(), 3, 7, 13, 29);
             Tensor nchw = Tensor.allocate(Allocator.direct(), 3, 7, 13, 29)) {
            float[] x = new float[(int) a.numel()], r = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                r[i] = (float) (rnd.nextGaussian() * 3 + 1);
                x[i] = r[i] + (float) (rnd.nextGaussian() * 0.2);
            }
            a.setFrom(x);
            ref.setFrom(r);
            nchw.setFrom(r);
            double want = plain(x, r);
            assertEquals(want, AdaptiveCache.relativeL1(a, ref), 1e-6 * want, "channels-last pair, compared in memory order");
            assertEquals(want, AdaptiveCache.relativeL1(a, nchw), 1e-6 * want, "different layouts, compared in logical order");
            assertEquals(0.0, AdaptiveCache.relativeL1(ref, nchw), 0.0);
            try (Tensor other = Tensor.allocate(Allocator.direct(), 3, 7, 13, 28)) {
                assertThrows(IllegalArgumentException.class, () -> AdaptiveCache.relativeL1(a, other));
            }
        }
    }
}
