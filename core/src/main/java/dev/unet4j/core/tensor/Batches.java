package dev.unet4j.core.tensor;

import java.nio.FloatBuffer;

/** Batch-axis tiling: classifier-free guidance and batched cache decoding repeat one batch several times. */
public final class Batches {
    private Batches() {
    }

    /**
     * {@code torch.cat([t] * k, dim=0)} ({@code [k*B, ...]}), allocated from {@code allocator}. A dense tensor whose
     * batch axis is outermost (NCHW or channels-last) keeps its layout and is repeated as {@code k} bulk copies of its
     * memory; anything else goes through logical order into a row-major result.
     */
    public static Tensor tile(Allocator allocator, Tensor t, int k) {
        long[] shape = t.shape();
        shape[0] *= k;
        long item = t.dim(0) == 0 ? 0 : t.numel() / t.dim(0);
        if (item > 0 && t.span() == t.numel() && (t.dim(0) == 1 || t.stride(0) == item)) {
            long[] strides = t.strides();
            strides[0] = item;
            Tensor r = Tensor.allocateStrided(allocator, shape, strides);
            FloatBuffer src = t.rawBuffer(), dst = r.rawBuffer();
            for (int i = 0; i < k; i++) dst.put(src.duplicate());
            return r;
        }
        float[] v = t.toFloatArray();
        float[] out = new float[v.length * k];
        for (int i = 0; i < k; i++) System.arraycopy(v, 0, out, i * v.length, v.length);
        Tensor r = Tensor.allocate(allocator, shape);
        r.setFrom(out);
        return r;
    }
}
