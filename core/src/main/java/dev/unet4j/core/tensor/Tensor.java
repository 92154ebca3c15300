package dev.unet4j.core.tensor;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A float32 tensor in native memory: a logical shape (NCHW for images, [B, T, C] for tokens) over a
 * strided view of a {@link NativeBuffer}. The physical layout is free: kernels may return NHWC-strided
 * 4-D tensors ({@link #isChannelsLast()}), which every consumer reads correctly through the strides.
 *
 * <p>Ownership: a tensor made by {@link #allocate} or a kernel owns its buffer and gives it back to its
 * {@link Allocator} on {@link #close()}; {@link #view views} share the buffer and own nothing. Close a
 * tensor once, after its last use (try-with-resources).
 */
public final class Tensor implements AutoCloseable {
    private final long[] shape;
    private final long[] strides;
    private final long offset;
    private final NativeBuffer buffer;
    private final Allocator owner; // null for views
    private boolean closed;

    private Tensor(long[] shape, long[] strides, long offset, NativeBuffer buffer, Allocator owner) {
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.buffer = buffer;
        this.owner = owner;
    }

    // ---------------------------------------------------------------- creation

    /** Uninitialised contiguous (row-major) tensor from {@code allocator}. */
    public static Tensor allocate(Allocator allocator, long... shape) {
        long[] s = checkShape(shape);
        return new Tensor(s, rowMajorStrides(s), 0, allocator.acquire(numel(s)), allocator);
    }

    /** Uninitialised tensor with explicit strides (e.g. channels-last) from {@code allocator}. */
    public static Tensor allocateStrided(Allocator allocator, long[] shape, long[] strides) {
        long[] s = checkShape(shape);
        if (strides.length != s.length) throw new IllegalArgumentException("strides " + Arrays.toString(strides) + " for shape " + Arrays.toString(s));
        long span = 1;
        for (int i = 0; i < s.length; i++) span += (s[i] - 1) * strides[i];
        if (numel(s) == 0) span = 0;
        return new Tensor(s, strides.clone(), 0, allocator.acquire(span), allocator);
    }

    /** Uninitialised 4-D NCHW-shaped tensor stored channels-last (NHWC), the layout oneDNN runs fastest. */
    public static Tensor allocateChannelsLast(Allocator allocator, long n, long c, long h, long w) {
        return allocateStrided(allocator, new long[]{n, c, h, w}, new long[]{h * w * c, 1, w * c, c});
    }

    /** Standalone contiguous tensor, freed on close. */
    public static Tensor allocate(long... shape) {
        return allocate(Allocator.direct(), shape);
    }

    public static Tensor zeros(long... shape) {
        Tensor t = allocate(shape);
        t.fill(0f);
        return t;
    }

    /** Copies {@code data} (row-major) into a new standalone tensor. */
    public static Tensor of(float[] data, long... shape) {
        long[] s = checkShape(shape);
        if (numel(s) != data.length) {
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values for shape " + Arrays.toString(s) + " (" + numel(s) + " elements)");
        }
        Tensor t = allocate(s);
        t.buffer.floatBuffer(0, data.length).put(data);
        return t;
    }

    public static Tensor of(float[] data, int... shape) {
        return of(data, toLong(shape));
    }

    /** Copies this tensor into a new contiguous tensor from {@code allocator}. */
    public Tensor copy(Allocator allocator) {
        Tensor t = allocate(allocator, shape);
        t.copyFrom(this);
        return t;
    }

    /**
     * A view of {@code buffer} with the given geometry (element strides, none negative; element offset), checked to
     * lie inside the buffer. Owns nothing: closing it frees nothing. The way in for memory from another runtime
     * ({@link NativeBuffer#wrap}).
     */
    public static Tensor wrap(NativeBuffer buffer, long[] shape, long[] strides, long elementOffset) {
        long[] s = checkShape(shape);
        if (strides.length != s.length) throw new IllegalArgumentException("wrap: strides " + Arrays.toString(strides) + " for shape " + Arrays.toString(s));
        long span = numel(s) == 0 ? 0 : 1;
        for (int i = 0; i < s.length; i++) {
            if (strides[i] < 0) throw new IllegalArgumentException("wrap: negative stride in " + Arrays.toString(strides));
            if (span > 0) span += (s[i] - 1) * strides[i];
        }
        if (elementOffset < 0 || elementOffset + span > buffer.capacity()) {
            throw new IndexOutOfBoundsException("wrap: " + Arrays.toString(s) + " strides " + Arrays.toString(strides) + " at offset "
                    + elementOffset + " does not fit a buffer of " + buffer.capacity() + " floats");
        }
        return new Tensor(s, strides.clone(), elementOffset, buffer, null);
    }

    // ---------------------------------------------------------------- views

    /** A view sharing this tensor's buffer; owns nothing. */
    public Tensor view(long[] newShape, long[] newStrides, long elementOffset) {
        checkOpen();
        return new Tensor(newShape.clone(), newStrides.clone(), elementOffset, buffer, null);
    }

    /** Row-major reshape of a contiguous tensor. */
    public Tensor reshape(long... newShape) {
        checkOpen();
        if (!isContiguous()) throw new IllegalStateException("reshape of a non-contiguous tensor " + this + "; copy it first");
        long[] s = checkShape(newShape);
        if (numel(s) != numel()) throw new IllegalArgumentException("reshape " + Arrays.toString(shape) + " -> " + Arrays.toString(s) + ": element counts differ");
        return new Tensor(s, rowMajorStrides(s), offset, buffer, null);
    }

    /** View of {@code [start, start+length)} along {@code dim}. */
    public Tensor narrow(int dim, long start, long length) {
        checkOpen();
        if (start < 0 || length < 0 || start + length > shape[dim]) {
            throw new IndexOutOfBoundsException("narrow(dim " + dim + ", " + start + ", " + length + ") of shape " + Arrays.toString(shape));
        }
        long[] s = shape.clone();
        s[dim] = length;
        return new Tensor(s, strides.clone(), offset + start * strides[dim], buffer, null);
    }

    /** View with dimensions permuted ({@code perm[i]} = old dimension placed at i). */
    public Tensor permute(int... perm) {
        checkOpen();
        if (perm.length != shape.length) throw new IllegalArgumentException("permute " + Arrays.toString(perm) + " of rank " + shape.length);
        long[] s = new long[perm.length], st = new long[perm.length];
        for (int i = 0; i < perm.length; i++) {
            s[i] = shape[perm[i]];
            st[i] = strides[perm[i]];
        }
        return new Tensor(s, st, offset, buffer, null);
    }

    // ---------------------------------------------------------------- data access

    public long[] shape() {
        return shape.clone();
    }

    public long dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public int rank() {
        return shape.length;
    }

    public long[] strides() {
        return strides.clone();
    }

    public long stride(int i) {
        return strides[i < 0 ? strides.length + i : i];
    }

    /** Element offset of this view inside its buffer. */
    public long offset() {
        return offset;
    }

    public NativeBuffer buffer() {
        checkOpen();
        return buffer;
    }

    /**
     * Whether both tensors are the same elements of one buffer (same buffer, offset, shape and strides), open or not:
     * e.g. a view made by {@link #moveTo} in place and the tensor it was moved from.
     */
    public boolean sameElements(Tensor other) {
        return buffer == other.buffer && offset == other.offset && Arrays.equals(shape, other.shape) && Arrays.equals(strides, other.strides);
    }

    /** Native address of the first element of this view. */
    public long address() {
        return buffer().address(offset);
    }

    /** Non-owning pointer at this view's first element (for native kernels). */
    public FloatPointer pointer() {
        checkOpen();
        return NativeBuffer.floatsAt(buffer.address(offset), span());
    }

    public long numel() {
        return numel(shape);
    }

    /** Floats between the first and one past the last element addressed by this view. */
    public long span() {
        if (numel() == 0) return 0;
        long s = 1;
        for (int i = 0; i < shape.length; i++) s += (shape[i] - 1) * strides[i];
        return s;
    }

    public boolean isContiguous() {
        return Arrays.equals(strides, rowMajorStrides(shape)) || numel() <= 1;
    }

    /** True for a 4-D tensor stored NHWC (channel stride 1). */
    public boolean isChannelsLast() {
        return shape.length == 4 && Arrays.equals(strides, new long[]{shape[1] * shape[2] * shape[3], 1, shape[3] * shape[1], shape[1]});
    }

    /** The raw floats this view spans, as a buffer positioned at the first element. */
    public FloatBuffer rawBuffer() {
        checkOpen();
        return buffer.floatBuffer(offset, span());
    }

    /** Values in logical row-major order, whatever the layout. */
    public float[] toFloatArray() {
        checkOpen();
        long n = numel();
        if (n > Integer.MAX_VALUE) throw new IllegalStateException("tensor too large for a Java array: " + this);
        float[] out = new float[(int) n];
        FloatBuffer fb = rawBuffer();
        if (isContiguous()) {
            fb.get(out);
            return out;
        }
        forEachIndex((i, off) -> out[(int) i] = fb.get((int) off));
        return out;
    }

    /** Writes {@code values} (logical row-major order) into this tensor, whatever its layout. */
    public void setFrom(float[] values) {
        checkOpen();
        if (values.length != numel()) throw new IllegalArgumentException("setFrom: " + values.length + " values for " + this);
        FloatBuffer fb = rawBuffer();
        if (isContiguous()) {
            fb.put(values);
            return;
        }
        forEachIndex((i, off) -> fb.put((int) off, values[(int) i]));
    }

    /** Copies values (logical order) from {@code src}, which must have the same shape. */
    public void copyFrom(Tensor src) {
        if (!Arrays.equals(shape, src.shape)) {
            throw new IllegalArgumentException("copyFrom: shape " + Arrays.toString(src.shape) + " into " + Arrays.toString(shape));
        }
        if (isContiguous() && src.isContiguous()) {
            rawBuffer().put(src.rawBuffer());
            return;
        }
        setFrom(src.toFloatArray());
    }

    /** Value at a logical index (slow; tests and debugging). */
    public float get(long... index) {
        return rawBuffer().get((int) elementOffset(index));
    }

    public void set(float value, long... index) {
        rawBuffer().put((int) elementOffset(index), value);
    }

    public void fill(float value) {
        FloatBuffer fb = rawBuffer();
        if (isContiguous()) {
            for (int i = 0, n = fb.remaining(); i < n; i++) fb.put(i, value);
            return;
        }
        forEachIndex((i, off) -> fb.put((int) off, value));
    }

    private long elementOffset(long[] index) {
        if (index.length != shape.length) throw new IllegalArgumentException("index of rank " + index.length + " into " + this);
        long o = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) throw new IndexOutOfBoundsException(Arrays.toString(index) + " in " + this);
            o += index[i] * strides[i];
        }
        return o;
    }

    /** Visits every element: logical linear index and its offset relative to this view's first element. */
    public void forEachIndex(IndexVisitor v) {
        int r = shape.length;
        long n = numel();
        if (n == 0) return;
        long[] idx = new long[r];
        long off = 0;
        for (long i = 0; i < n; i++) {
            v.visit(i, off);
            for (int d = r - 1; d >= 0; d--) {
                idx[d]++;
                off += strides[d];
                if (idx[d] < shape[d]) break;
                off -= idx[d] * strides[d];
                idx[d] = 0;
            }
        }
    }

    @FunctionalInterface
    public interface IndexVisitor {
        void visit(long linearIndex, long elementOffset);
    }

    /**
     * Moves this tensor's ownership into a new tensor of another geometry over the same buffer (a reshape or
     * permute that must outlive the original, e.g. tokens {@code [B, H*W, C]} handed on as NCHW). This tensor is
     * closed without releasing its buffer; the result releases it. For a view, the result is a view too.
     */
    public Tensor moveTo(long[] newShape, long[] newStrides, long elementOffset) {
        checkOpen();
        if (newShape.length != newStrides.length) {
            throw new IllegalArgumentException("moveTo: shape " + Arrays.toString(newShape) + " with strides " + Arrays.toString(newStrides));
        }
        long[] s = checkShape(newShape);
        long span = 1;
        for (int i = 0; i < s.length; i++) span += (s[i] - 1) * newStrides[i];
        if (numel(s) > 0 && elementOffset + span > buffer.capacity()) {
            throw new IndexOutOfBoundsException("moveTo: " + Arrays.toString(s) + " does not fit a buffer of " + buffer.capacity());
        }
        closed = true;
        return new Tensor(s, newStrides.clone(), elementOffset, buffer, owner);
    }

    // ---------------------------------------------------------------- lifecycle

    /** Whether this tensor owns its buffer (false for views). */
    public boolean isOwner() {
        return owner != null;
    }

    public boolean isClosed() {
        return closed || buffer.isFreed();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (owner != null) owner.release(buffer);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("tensor " + Arrays.toString(shape) + " used after close");
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (isChannelsLast() ? "(NHWC)" : isContiguous() ? "" : "(strided " + Arrays.toString(strides) + ")");
    }

    // ---------------------------------------------------------------- shape helpers

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public static long[] rowMajorStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = s;
            s *= Math.max(1, shape[i]);
        }
        return st;
    }

    public static long[] toLong(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < shape.length; i++) s[i] = shape[i];
        return s;
    }

    private static long[] checkShape(long[] shape) {
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
        }
        return shape.clone();
    }
}
