package dev.unet4j.unet;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;

/** Batch-dimension helpers. */
final class Batches {
    private Batches() {
    }

    /** {@code t} repeated {@code k} times along dimension 0 ({@code [k*B, ...]}), in {@code t}'s layout when it is dense. */
    static Tensor tile(Allocator allocator, Tensor t, int k) {
        long[] shape = t.shape();
        long b = shape[0];
        shape[0] = b * k;
        long[] strides = t.strides();
        long item = t.numel() / Math.max(1, b);
        boolean dense = b == 1 || strides[0] == item;           // each item one block of numel/B floats, items adjacent
        dense &= t.span() == t.numel();
        if (!dense) {
            float[] v = t.toFloatArray();
            float[] out = new float[v.length * k];
            for (int i = 0; i < k; i++) System.arraycopy(v, 0, out, i * v.length, v.length);
            Tensor r = Tensor.allocate(allocator, shape);
            r.setFrom(out);
            return r;
        }
        strides[0] = item;
        Tensor r = Tensor.allocateStrided(allocator, shape, strides);
        FloatBuffer src = t.rawBuffer();
        FloatBuffer dst = r.rawBuffer();
        for (int i = 0; i < k; i++) {
            dst.put(src.duplicate());
        }
        return r;
    }
}
