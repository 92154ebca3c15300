package dev.unet4j.unet.guard;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Opt-in run-time check: every node's output is scanned for NaN and infinities, and the first node that makes one
 * fails the call with a {@link NonFiniteValueException} naming it and the call index. Children run before their
 * parents finish, so the reported node is the innermost one where the values appeared. Costs one read of every
 * activation (a few percent of a call); combine it with other interceptors through {@link dev.unet4j.unet.Interceptors#chain}.
 */
public final class NonFiniteGuard implements NodeInterceptor {

    @Override
    public Tensor intercept(NodeCall call) {
        Tensor out = call.proceed();
        check(out, call.path(), call.callIndex(), "the output of");
        return out;
    }

    /** Throws {@link NonFiniteValueException} if {@code t} holds a NaN or an infinity. */
    public static void check(Tensor t, String path, int callIndex, String where) {
        if (t == null || t.numel() == 0) return;
        long first = -1, count = 0;
        float firstValue = 0;
        if (t.span() == t.numel()) { // dense in some dimension order: scan the storage, map the index afterwards
            FloatBuffer fb = t.rawBuffer();
            for (int i = 0, n = fb.remaining(); i < n; i++) {
                float v = fb.get(i);
                if (!Float.isFinite(v)) {
                    if (count++ == 0) {
                        first = logicalIndex(t, i);
                        firstValue = v;
                    }
                }
            }
        } else {
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                if (!Float.isFinite(v[i]) && count++ == 0) {
                    first = i;
                    firstValue = v[i];
                }
            }
        }
        if (count > 0) throw new NonFiniteValueException(path, callIndex, where, count, t.numel(), first, firstValue);
    }

    /** Row-major flat index of the element stored at {@code offset} floats from a dense tensor's first element. */
    private static long logicalIndex(Tensor t, long offset) {
        long[] shape = t.shape(), strides = t.strides();
        Integer[] order = new Integer[shape.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Long.compare(strides[b], strides[a]));
        long[] idx = new long[shape.length];
        long rest = offset;
        for (int d : order) {
            if (strides[d] == 0) continue;
            idx[d] = rest / strides[d];
            rest %= strides[d];
        }
        long flat = 0;
        for (int d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
        return flat;
    }
}
