package dev.unet4j.core.kernels.dnnl;

import java.util.Arrays;

/** (oneDNN argument id, native address) pairs for {@link Primitive#execute}. */
final class ArgList {
    private long[] pairs = new long[12];
    private int n;

    ArgList add(int arg, long address) {
        if (n + 2 > pairs.length) pairs = Arrays.copyOf(pairs, pairs.length * 2);
        pairs[n++] = arg;
        pairs[n++] = address;
        return this;
    }

    long[] toArray() {
        return Arrays.copyOf(pairs, n);
    }
}
