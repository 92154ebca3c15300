package dev.unet4j.core.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch repetition against {@code torch.cat([t] * n)} written as a plain loop, for each layout it takes. */
class BatchesTest {
    @Test
    void tileEqualsConcatenatingTheBatchKTimes() {
        Random r = new Random(3);
        long[] shape = {2, 5, 3, 4};
        float[] v = new float[2 * 5 * 3 * 4];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        float[] expected = new float[v.length * 3];
        for (int k = 0; k < 3; k++) System.arraycopy(v, 0, expected, k * v.length, v.length);
        try (Tensor nchw = Tensor.allocate(Allocator.direct(), shape);
             Tensor nhwc = Tensor.allocateChannelsLast(Allocator.direct(), 2, 5, 3, 4);
             Tensor wide = Tensor.allocate(Allocator.direct(), 2, 5, 3, 8)) {
            nchw.setFrom(v);
            nhwc.setFrom(v);
            Tensor strided = wide.narrow(3, 2, 4);                 // not dense: the logical-order path
            strided.setFrom(v);
            for (Tensor t : new Tensor[]{nchw, nhwc, strided, nchw.narrow(0, 1, 1)}) {
                float[] want = expected;
                if (t.dim(0) == 1) {
                    want = new float[v.length / 2 * 3];
                    for (int k = 0; k < 3; k++) System.arraycopy(v, v.length / 2, want, k * v.length / 2, v.length / 2);
                }
                try (Tensor rep = Batches.tile(Allocator.direct(), t, 3)) {
                    assertArrayEquals(want, rep.toFloatArray(), "tile of " + t);
                    assertTrue(rep.dim(0) == 3 * t.dim(0));
                }
            }
            try (Tensor rep = Batches.tile(Allocator.direct(), nhwc, 2)) {
                assertTrue(rep.isChannelsLast(), "a channels-last tensor stays channels-last");
            }
        }
    }
}
