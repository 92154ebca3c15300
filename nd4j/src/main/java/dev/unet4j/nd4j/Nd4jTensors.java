package dev.unet4j.nd4j;

import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.indexer.FloatIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Objects;

/**
 * Conversions between ND4J's {@link INDArray} and unet4j's {@link Tensor}, without a copy where the memory allows.
 *
 * <p>Both are strided views of native memory, so a {@code FLOAT} array of any order (c or f), offset or strides maps
 * onto a tensor over the same bytes, and every tensor (float32, strided, NCHW or NHWC) onto an array. What needs a
 * copy is another data type, memory that ND4J reuses behind the array's back (a workspace), and arrays on a backend
 * other than ND4J's CPU one ({@code nd4j-native}), whose data do not live in host memory: those are refused.
 *
 * <p>Lifetimes: a tensor that views an array keeps the array reachable, so ND4J's garbage-collector-driven
 * deallocation cannot free the memory under it (an explicit {@code INDArray.close()} still would). An array that
 * views a tensor does not own the tensor's memory: it is valid until the tensor is closed (for a session's output,
 * until it goes back to the session's pool). Take {@link #copyToINDArray} for an array that outlives the tensor.
 */
public final class Nd4jTensors {
    private Nd4jTensors() {
    }

    /**
     * The array as a tensor. <b>No copy</b> when {@link #sharesMemory} holds (a {@code FLOAT} array of any order,
     * offset or strides outside a workspace): the result is a view over the array's memory, writes through either are
     * seen by the other, and closing it frees nothing. <b>A copy</b> otherwise: a new contiguous float32 tensor with
     * the array's values converted by ND4J ({@code DOUBLE}, {@code HALF}, {@code BFLOAT16}, integer types; a
     * workspace-attached array, whose memory the workspace reuses), owned by the caller. Close the result either way.
     *
     * @throws IllegalArgumentException for a data type with no numeric value ({@code BOOL}, {@code UTF8}, ...)
     */
    public static Tensor toTensor(INDArray array) {
        checkUsable(array);
        if (!sharesMemory(array)) {
            Tensor copy = Tensor.allocate(array.shape());
            try {
                copy(array, copy);
                return copy;
            } catch (RuntimeException e) {
                copy.close();
                throw e;
            }
        }
        long[] shape = array.shape();
        long[] strides = strideOfOneForUnitDims(shape, array.stride());
        long span = 1;
        for (int i = 0; i < shape.length; i++) span += (shape[i] - 1) * strides[i];
        // The tensor holds the array: while the tensor is reachable, ND4J's deallocator leaves the memory alone.
        return Tensor.wrap(NativeBuffer.wrap(firstElementAddress(array), span, array), shape, strides, 0);
    }

    /**
     * Whether {@link #toTensor} returns a view of {@code array}'s memory (no copy): a {@code FLOAT}, non-empty array
     * outside any workspace, on ND4J's CPU backend. Order, offset and strides do not matter.
     */
    public static boolean sharesMemory(INDArray array) {
        checkUsable(array);
        return array.dataType() == DataType.FLOAT && !array.isEmpty() && !array.isAttached()
                && Arrays.stream(array.stride()).allMatch(s -> s >= 0);
    }

    /**
     * The tensor as an array over the same memory, <b>no copy</b>, for every tensor: a {@code FLOAT} array with the
     * tensor's shape and strides (NCHW, NHWC, narrowed or permuted views alike). Writes through either are seen by the
     * other. The array does not own the memory: use it only while the tensor is open, or take
     * {@link #copyToINDArray}. An empty tensor gives a new empty array (there is no memory to share).
     */
    public static INDArray asINDArray(Tensor tensor) {
        Objects.requireNonNull(tensor, "tensor");
        checkCpuBackend();
        long[] shape = tensor.shape();
        if (tensor.numel() == 0) return Nd4j.create(DataType.FLOAT, shape);
        long span = tensor.span();
        FloatPointer first = tensor.pointer();
        DataBuffer buffer = Nd4j.createBuffer(first, DataType.FLOAT, span, FloatIndexer.create(first));
        long[] strides = tensor.strides();
        return Nd4j.create(buffer, shape, strides, 0, isColumnMajor(shape, strides) ? 'f' : 'c');
    }

    /**
     * A <b>copy</b> of the tensor as a new c-order {@code FLOAT} array that ND4J owns, independent of the tensor
     * (close the tensor whenever). One native copy, whatever the tensor's layout.
     */
    public static INDArray copyToINDArray(Tensor tensor) {
        Objects.requireNonNull(tensor, "tensor");
        return asINDArray(tensor).dup('c');
    }

    /**
     * <b>Copies</b> {@code source}'s values into {@code target} (same shape; any numeric data type, converted by
     * ND4J; any layout on either side), e.g. an array into a session's prepared input.
     *
     * @throws IllegalArgumentException when the shapes differ (ND4J would broadcast; this refuses) or the data type
     *                                  has no numeric value
     */
    public static void copy(INDArray source, Tensor target) {
        checkUsable(source);
        Objects.requireNonNull(target, "target");
        checkSameShape(source.shape(), target.shape(), "array " + source.dataType(), "tensor");
        if (target.numel() > 0) asINDArray(target).assign(source);
    }

    /**
     * <b>Copies</b> {@code source}'s values into {@code target} (same shape; the array's data type may be any numeric
     * one, converted by ND4J; any layout on either side), e.g. a result into an array a DL4J model reads.
     *
     * @throws IllegalArgumentException when the shapes differ or the array's data type has no numeric value
     */
    public static void copy(Tensor source, INDArray target) {
        Objects.requireNonNull(source, "source");
        checkUsable(target);
        checkSameShape(source.shape(), target.shape(), "tensor", "array " + target.dataType());
        if (source.numel() > 0) target.assign(asINDArray(source));
    }

    // ---------------------------------------------------------------- helpers

    /** Native address of the array's element [0, ..., 0], wherever its view starts in its buffer. */
    private static long firstElementAddress(INDArray array) {
        return array.data().address() + array.offset() * Float.BYTES;
    }

    /**
     * A dimension of size one is never stepped over, so its stride is free: ND4J leaves arbitrary values there, and a
     * row-major value makes a contiguous array a contiguous tensor (the kernels' fast path) rather than a strided one.
     */
    private static long[] strideOfOneForUnitDims(long[] shape, long[] strides) {
        long[] s = strides.clone();
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] == 1) s[i] = i == shape.length - 1 ? 1 : s[i + 1] * Math.max(1, shape[i + 1]);
        }
        return s;
    }

    /** Whether the strides are column-major dense (ND4J's 'f' order) and not also row-major dense. */
    private static boolean isColumnMajor(long[] shape, long[] strides) {
        if (Arrays.equals(strides, Tensor.rowMajorStrides(shape))) return false;
        long expect = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] != 1 && strides[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }

    private static void checkUsable(INDArray array) {
        Objects.requireNonNull(array, "array");
        checkCpuBackend();
        if (array.wasClosed()) throw new IllegalStateException("the INDArray " + Arrays.toString(array.shape()) + " was closed");
        if (!array.dataType().isNumerical()) {
            throw new IllegalArgumentException("an INDArray of data type " + array.dataType() + " has no float32 form for a unet4j tensor; "
                    + "cast a numeric one first (array.castTo(DataType.FLOAT))");
        }
    }

    private static void checkCpuBackend() {
        if (!Nd4j.getEnvironment().isCPU()) {
            throw new UnsupportedOperationException("unet4j-nd4j works with ND4J's CPU backend (nd4j-native); this JVM runs "
                    + Nd4j.getBackend().getClass().getName() + ", whose arrays do not live in host memory");
        }
    }

    private static void checkSameShape(long[] source, long[] target, String sourceName, String targetName) {
        if (!Arrays.equals(source, target)) {
            throw new IllegalArgumentException("cannot copy a " + sourceName + " of shape " + Arrays.toString(source) + " into a "
                    + targetName + " of shape " + Arrays.toString(target) + ": the shapes must be equal");
        }
    }
}
