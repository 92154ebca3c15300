package dev.unet4j.nd4j;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.ref.WeakReference;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round trips between INDArray and Tensor. The truth for values is each side's own element accessor
 * ({@code INDArray.getDouble(long...)}, {@code Tensor.get(long...)}) at every logical index, and Java-side values;
 * sharing is shown by writing through one side and reading through the other.
 */
class Nd4jTensorsTest {
    private static final long[] SHAPE = {2, 3, 4, 5};

    private static float[] values(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** Every logical element of the two is the same float. */
    private static void assertSameElements(INDArray a, Tensor t) {
        assertArrayEquals(a.shape(), t.shape(), "shape");
        long[] idx = new long[t.rank()];
        for (long i = 0; i < t.numel(); i++) {
            long rest = i;
            for (int d = idx.length - 1; d >= 0; d--) {
                idx[d] = rest % t.dim(d);
                rest /= t.dim(d);
            }
            assertEquals((float) a.getDouble(idx), t.get(idx), "element " + java.util.Arrays.toString(idx));
        }
    }

    /** A write through each side is read through the other (they are one memory). */
    private static void assertWritesShared(INDArray a, Tensor t) {
        long[] last = t.shape();
        for (int d = 0; d < last.length; d++) last[d] -= 1;
        t.set(41.5f, last);
        assertEquals(41.5, a.getDouble(last), "tensor write seen by the array");
        long[] first = new long[t.rank()];
        a.putScalar(first, -7.25);
        assertEquals(-7.25f, t.get(first), "array write seen by the tensor");
    }

    @Test
    void cOrderFloatArrayIsViewedNotCopied() {
        INDArray a = Nd4j.create(values(120, 1), SHAPE, DataType.FLOAT);
        assertTrue(Nd4jTensors.sharesMemory(a));
        try (Tensor t = Nd4jTensors.toTensor(a)) {
            assertFalse(t.isOwner(), "a view owns nothing");
            assertTrue(t.isContiguous(), "c order maps to a row-major tensor");
            assertEquals(a.data().address(), t.address());
            assertArrayEquals(a.data().asFloat(), t.toFloatArray());
            assertWritesShared(a, t);
        }
        assertFalse(a.wasClosed(), "closing the view leaves the array alone");
        assertEquals(-7.25, a.getDouble(0, 0, 0, 0));
    }

    @Test
    void fOrderArrayAndStridedViewsAreViewedWithTheirStrides() {
        INDArray f = Nd4j.create(DataType.FLOAT, SHAPE, 'f');
        f.assign(Nd4j.create(values(120, 2), SHAPE, DataType.FLOAT));
        INDArray big = Nd4j.create(values(4 * 6 * 8 * 10, 3), new long[]{4, 6, 8, 10}, DataType.FLOAT);
        INDArray window = big.get(NDArrayIndex.interval(1, 3), NDArrayIndex.interval(2, 5), NDArrayIndex.interval(3, 7),
                NDArrayIndex.interval(4, 9));                        // offset and strides: a view into big
        INDArray transposed = big.permute(0, 2, 3, 1);
        for (INDArray a : new INDArray[]{f, window, transposed}) {
            assertTrue(Nd4jTensors.sharesMemory(a), a.shapeInfoToString());
            try (Tensor t = Nd4jTensors.toTensor(a)) {
                assertFalse(t.isOwner());
                assertSameElements(a, t);
                assertWritesShared(a, t);
            }
        }
        assertEquals(41.5, big.getDouble(2, 4, 6, 8), "the window's write reached its parent array");
    }

    @Test
    void otherDataTypesAreCopiedAsFloat32() {
        float[] v = values(120, 4);
        for (DataType type : new DataType[]{DataType.DOUBLE, DataType.HALF, DataType.BFLOAT16, DataType.INT32, DataType.INT8}) {
            INDArray a = Nd4j.create(v, SHAPE, DataType.FLOAT).mul(10).castTo(type);
            assertFalse(Nd4jTensors.sharesMemory(a), type.toString());
            try (Tensor t = Nd4jTensors.toTensor(a)) {
                assertTrue(t.isOwner(), type + ": a copy the caller owns");
                assertSameElements(a, t);   // getDouble reads the stored value; float32 holds each of these exactly
                t.set(99f, 0, 0, 0, 0);
                assertTrue(a.getDouble(0, 0, 0, 0) != 99, type + ": the copy is independent");
            }
        }
    }

    @Test
    void workspaceArraysAreCopiedBecauseTheWorkspaceReusesTheirMemory() {
        WorkspaceConfiguration conf = WorkspaceConfiguration.builder().initialSize(1 << 20).build();
        float[] v = values(120, 5);
        Tensor t;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "unet4j-nd4j-test")) {
            INDArray a = Nd4j.create(v, SHAPE, DataType.FLOAT);
            assertTrue(a.isAttached());
            assertFalse(Nd4jTensors.sharesMemory(a));
            t = Nd4jTensors.toTensor(a);
        }
        try (Tensor copy = t) {
            assertTrue(copy.isOwner());
            assertArrayEquals(v, copy.toFloatArray(), "values survive the workspace");
        }
    }

    @Test
    void tensorsOfEveryLayoutAreViewedAsArrays() {
        float[] v = values(120, 6);
        try (Tensor nchw = Tensor.of(v, SHAPE);
             Tensor nhwc = Tensor.allocateChannelsLast(Allocator.direct(), 2, 3, 4, 5);
             Tensor wide = Tensor.allocate(2, 3, 4, 9)) {
            nhwc.setFrom(v);
            wide.setFrom(values(2 * 3 * 4 * 9, 7));
            Tensor narrowed = wide.narrow(3, 2, 5);                   // offset 2, row stride 9
            Tensor permuted = nchw.permute(0, 2, 3, 1);
            for (Tensor t : new Tensor[]{nchw, nhwc, narrowed, permuted}) {
                INDArray a = Nd4jTensors.asINDArray(t);
                assertEquals(DataType.FLOAT, a.dataType());
                assertEquals(t.address(), a.data().address() + a.offset() * Float.BYTES, t + ": same memory");
                assertSameElements(a, t);
                // an ND4J op over the strided view: libnd4j walks the same strides
                double javaSum = 0;
                for (float x : t.toFloatArray()) javaSum += x;
                assertEquals(javaSum, a.sumNumber().doubleValue(), 1e-4, t + ": ND4J's sum");
                assertArrayEquals(t.toFloatArray(), a.dup('c').data().asFloat(), t + ": ND4J's c-order copy");
                assertWritesShared(a, t);
            }
        }
    }

    @Test
    void copyToINDArrayIsIndependentOfTheTensor() {
        float[] v = values(120, 8);
        INDArray a;
        try (Tensor t = Tensor.allocateChannelsLast(Allocator.direct(), 2, 3, 4, 5)) {
            t.setFrom(v);
            a = Nd4jTensors.copyToINDArray(t);
            assertTrue(a.data().address() != t.address(), "new memory");
            t.fill(0f);
        }
        assertEquals('c', a.ordering());
        assertArrayEquals(SHAPE, a.shape());
        assertArrayEquals(v, a.data().asFloat(), "values taken before the tensor changed and closed");
    }

    @Test
    void roundTripsKeepEveryValue() {
        float[] v = values(120, 9);
        INDArray a = Nd4j.create(v, SHAPE, DataType.FLOAT);
        try (Tensor t = Nd4jTensors.toTensor(a)) {
            INDArray back = Nd4jTensors.asINDArray(t);
            assertEquals(a.data().address(), back.data().address(), "array -> tensor -> array is one memory");
            assertArrayEquals(v, back.data().asFloat());
        }
        INDArray d = Nd4j.create(v, SHAPE, DataType.FLOAT).castTo(DataType.DOUBLE);
        try (Tensor t = Nd4jTensors.toTensor(d)) {
            INDArray back = Nd4jTensors.copyToINDArray(t);
            assertArrayEquals(v, back.data().asFloat(), "double -> tensor -> float array");
        }
        INDArray target = Nd4j.create(DataType.DOUBLE, SHAPE);
        try (Tensor t = Tensor.of(v, SHAPE)) {
            Nd4jTensors.copy(t, target);
            assertSameElements(target, t);
        }
    }

    @Test
    void emptyAndScalarArraysConvert() {
        INDArray empty = Nd4j.create(DataType.FLOAT, 0, 3);
        try (Tensor t = Nd4jTensors.toTensor(empty)) {
            assertArrayEquals(new long[]{0, 3}, t.shape());
            assertTrue(Nd4jTensors.asINDArray(t).isEmpty());
        }
        INDArray scalar = Nd4j.scalar(2.5f);
        try (Tensor t = Nd4jTensors.toTensor(scalar)) {
            assertEquals(0, t.rank());
            assertEquals(2.5f, t.toFloatArray()[0]);
            assertEquals(2.5, Nd4jTensors.asINDArray(t).getDouble(0));
        }
    }

    @Test
    void wrongShapesTypesAndClosedInputsAreRefusedByName() {
        try (Tensor t = Tensor.zeros(2, 3)) {
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> Nd4jTensors.copy(Nd4j.ones(DataType.FLOAT, 3, 2), t));
            assertTrue(shape.getMessage().contains("[3, 2]") && shape.getMessage().contains("[2, 3]"), shape.getMessage());
            IllegalArgumentException back = assertThrows(IllegalArgumentException.class,
                    () -> Nd4jTensors.copy(t, Nd4j.ones(DataType.FLOAT, 1, 2, 3)));
            assertTrue(back.getMessage().contains("[1, 2, 3]"), back.getMessage());
        }
        IllegalArgumentException bool = assertThrows(IllegalArgumentException.class,
                () -> Nd4jTensors.toTensor(Nd4j.create(DataType.BOOL, 2, 2)));
        assertTrue(bool.getMessage().contains("BOOL"), bool.getMessage());
        IllegalArgumentException utf8 = assertThrows(IllegalArgumentException.class,
                () -> Nd4jTensors.toTensor(Nd4j.create("a", "b")));
        assertTrue(utf8.getMessage().contains("UTF8"), utf8.getMessage());

        Tensor closed = Tensor.zeros(2, 2);
        closed.close();
        assertThrows(IllegalStateException.class, () -> Nd4jTensors.asINDArray(closed));
        INDArray released = Nd4j.create(DataType.FLOAT, 2, 2);
        released.close();
        IllegalStateException gone = assertThrows(IllegalStateException.class, () -> Nd4jTensors.toTensor(released));
        assertTrue(gone.getMessage().contains("closed"), gone.getMessage());
    }

    @Test
    void aViewKeepsItsArrayReachableAndLetsItGoAfterwards() {
        float[] v = values(1 << 12, 10);
        long liveBefore = NativeBuffer.liveBytes();
        INDArray array = Nd4j.create(v, new long[]{1 << 12}, DataType.FLOAT);
        WeakReference<INDArray> ref = new WeakReference<>(array);
        Tensor t = Nd4jTensors.toTensor(array);
        array = null;                                               // from here only the tensor holds the array
        assertEquals(liveBefore, NativeBuffer.liveBytes(), "a view allocates no unet4j memory");
        collectGarbage();
        assertTrue(ref.get() != null, "the view holds its array, so ND4J's deallocator leaves the memory alone");
        assertArrayEquals(v, t.toFloatArray());
        t.close();
        t = null;
        for (int i = 0; i < 10 && ref.get() != null; i++) collectGarbage();
        assertTrue(ref.get() == null, "once the view is gone the array can be collected (nothing leaks)");
    }

    private static void collectGarbage() {
        System.gc();
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
