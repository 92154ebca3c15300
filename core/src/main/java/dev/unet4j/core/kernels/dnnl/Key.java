package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/** A primitive-cache key: the operation name and every number that shapes its descriptor. */
final class Key {
    private final String op;
    private final long[] parts;
    private final int hash;

    private Key(String op, long[] parts) {
        this.op = op;
        this.parts = parts;
        this.hash = 31 * op.hashCode() + Arrays.hashCode(parts);
    }

    static Builder of(String op) {
        return new Builder(op);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Key k && k.hash == hash && k.op.equals(op) && Arrays.equals(k.parts, parts);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return op + Arrays.toString(parts);
    }

    static final class Builder {
        private final String op;
        private long[] parts = new long[16];
        private int n;

        private Builder(String op) {
            this.op = op;
        }

        Builder add(long v) {
            if (n == parts.length) parts = Arrays.copyOf(parts, n * 2);
            parts[n++] = v;
            return this;
        }

        Builder add(long[] vs) {
            add(vs.length);
            for (long v : vs) add(v);
            return this;
        }

        Builder add(float v) {
            return add((long) Float.floatToIntBits(v));
        }

        Builder add(boolean v) {
            return add(v ? 1L : 0L);
        }

        /** Shape and strides of {@code t}, or a marker for null. */
        Builder add(Tensor t) {
            if (t == null) return add(-1L);
            return add(t.shape()).add(t.strides());
        }

        Key build() {
            return new Key(op, Arrays.copyOf(parts, n));
        }
    }
}
