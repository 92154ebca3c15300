package dev.unet4j.caching.policy;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

/** Batch-axis repetition and slicing for batched decoding. */
final class Tiles {
    private Tiles() {
    }

    /** {@code torch.cat([t] * n, dim=0)}, allocated from {@code a}. */
    static Tensor repeat(Tensor t, int n, Allocator a) {
        float[] v = t.toFloatArray();
        float[] out = new float[v.length * n];
        for (int i = 0; i < n; i++) System.arraycopy(v, 0, out, i * v.length, v.length);
        long[] shape = t.shape();
        shape[0] *= n;
        Tensor r = Tensor.allocate(a, shape);
        r.setFrom(out);
        return r;
    }

    /** Items {@code [from, from + count)} along the batch axis, copied into {@code a}. */
    static Tensor slice(Tensor t, long from, long count, Allocator a) {
        return t.narrow(0, from, count).copy(a);
    }
}
