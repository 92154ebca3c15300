package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/** Array plumbing for the reference backend: strided tensors in and out of row-major float arrays, shape checks. */
final class RefTensors {
    private RefTensors() {
    }

    /** Values of {@code t} in logical row-major order, read through its strides. */
    static float[] read(Tensor t) {
        return t.toFloatArray();
    }

    /** A new contiguous tensor from the workspace's allocator holding {@code values} (row-major). */
    static Tensor write(Workspace ws, long[] shape, float[] values) {
        Tensor t = Tensor.allocate(ws.allocator(), shape);
        try {
            t.setFrom(values);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    static String shape(Tensor t) {
        return t == null ? "null" : Arrays.toString(t.shape());
    }

    static IllegalArgumentException error(String op, String message) {
        return new IllegalArgumentException(op + ": " + message);
    }

    static void requireRank(String op, String name, Tensor t, int rank) {
        if (t.rank() != rank) throw error(op, name + " must be " + rank + "-D, got " + shape(t));
    }

    static void requireShape(String op, String name, Tensor t, long... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw error(op, name + " shape " + shape(t) + " does not match expected " + Arrays.toString(expected));
        }
    }

    /** {@code [C]} vector or null. */
    static void requireVectorOrNull(String op, String name, Tensor t, long length) {
        if (t != null) requireShape(op, name, t, length);
    }

    /** Element count of a result of {@code shape}, which must fit a Java array. */
    static int size(String op, long[] shape) {
        long n = Tensor.numel(shape);
        if (n > Integer.MAX_VALUE) throw error(op, "result " + Arrays.toString(shape) + " too large for the reference backend");
        return (int) n;
    }

    /**
     * For {@code b} broadcast to {@code aShape} by numpy rules (right-aligned; each dimension of b equal or 1; b of
     * lower or equal rank): the index into b's row-major values for every row-major index of a.
     */
    static int[] broadcastIndex(String op, long[] aShape, long[] bShape) {
        if (bShape.length > aShape.length) {
            throw error(op, "cannot broadcast " + Arrays.toString(bShape) + " to " + Arrays.toString(aShape));
        }
        int r = aShape.length, shift = r - bShape.length;
        long[] bStride = new long[r]; // stride in b's row-major values per dimension of a; 0 where broadcast
        long s = 1;
        for (int d = r - 1; d >= shift; d--) {
            long bd = bShape[d - shift];
            if (bd != aShape[d] && bd != 1) {
                throw error(op, "cannot broadcast " + Arrays.toString(bShape) + " to " + Arrays.toString(aShape));
            }
            bStride[d] = bd == 1 ? 0 : s;
            s *= bd;
        }
        long n = Tensor.numel(aShape);
        if (n > Integer.MAX_VALUE) throw error(op, "tensor too large for the reference backend: " + Arrays.toString(aShape));
        int[] map = new int[(int) n];
        long[] idx = new long[r];
        long off = 0;
        for (int i = 0; i < n; i++) {
            map[i] = (int) off;
            for (int d = r - 1; d >= 0; d--) {
                idx[d]++;
                off += bStride[d];
                if (idx[d] < aShape[d]) break;
                off -= idx[d] * bStride[d];
                idx[d] = 0;
            }
        }
        return map;
    }
}
