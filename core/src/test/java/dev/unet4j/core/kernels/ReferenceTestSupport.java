package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared plumbing for the ReferenceKernels tests: tensors from arrays, NHWC copies, running an op into an array. */
final class ReferenceTestSupport {
    static final ReferenceKernels K = new ReferenceKernels();

    private ReferenceTestSupport() {
    }

    static Workspace ws() {
        return K.newWorkspace(Allocator.direct());
    }

    static Tensor t(float[] data, long... shape) {
        return Tensor.of(data, shape);
    }

    /** The same logical NCHW values stored channels-last (NHWC strides). */
    static Tensor nhwc(float[] nchw, long n, long c, long h, long w) {
        Tensor t = Tensor.allocateChannelsLast(Allocator.direct(), n, c, h, w);
        t.setFrom(nchw);
        return t;
    }

    static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Runs {@code op}, checks the result is a contiguous tensor of {@code shape}, returns its values and closes it. */
    static float[] run(long[] shape, Function<Workspace, Tensor> op) {
        try (Workspace ws = ws(); Tensor y = op.apply(ws)) {
            assertArrayEquals(shape, y.shape(), "result shape");
            assertTrue(y.isContiguous(), "reference results are row-major");
            assertTrue(y.isOwner(), "result owns its memory");
            return y.toFloatArray();
        }
    }

    static void assertClose(double[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol, what + "[" + i + "]");
    }

    static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol, what + "[" + i + "]");
    }

    /** The op must throw IllegalArgumentException naming itself and the given shape texts. */
    static void assertRejects(String op, Runnable call, String... mentions) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertTrue(e.getMessage().startsWith(op + ":"), "message names the op: " + e.getMessage());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "message mentions " + m + ": " + e.getMessage());
    }

    static long[] s(long... shape) {
        return shape;
    }
}
