package dev.unet4j.caching.policy;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;

/** Batch-axis repetition and slicing for batched decoding. */
final class Tiles {
    private Tiles() {
    }

    /**
     * {@code torch.cat([t] * n, dim=0)}, allocated from {@code a}. A dense tensor whose batch axis is outermost (NCHW
     * or channels-last) keeps its layout and is repeated as n bulk copies of its memory; anything else goes through
     * logical order.
     */
    static Tensor repeat(Tensor t, int n, Allocator a) {
        long[] shape = t.shape();
        shape[0] *= n;
        long per = t.dim(0) == 0 ? 0 : t.numel() / t.dim(0);
        if (per > 0 && t.span() == t.numel() && (t.dim(0) == 1 || t.stride(0) == per)) {
            long[] strides = t.strides();
            strides[0] = per;
            Tensor r = Tensor.allocateStrided(a, shape, strides);
            FloatBuffer src = t.rawBuffer(), dst = r.rawBuffer();
            for (int i = 0; i < n; i++) dst.put(src.duplicate());
            return r;
        }
        float[] v = t.toFloatArray();
        float[] out = new float[v.length * n];
        for (int i = 0; i < n; i++) System.arraycopy(v, 0, out, i * v.length, v.length);
        Tensor r = Tensor.allocate(a, shape);
        r.setFrom(out);
        return r;
    }

    /** Items {@code [from, from + count)} along the batch axis, copied into {@code a}. */
    static Tensor slice(Tensor t, long from, long count, Allocator a) {
        return t.narrow(0, from, count).copy(a);
    }
}
