package dev.unet4j.core.tensor;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One 64-byte aligned block of native float memory. Owned by exactly one {@link Allocator}; freed by it.
 * Aligned because oneDNN's AVX-512 kernels load whole cache lines. {@link #wrap} makes the other kind: a buffer over
 * memory another runtime owns (an ND4J array, for {@code unet4j-nd4j}), which unet4j never frees.
 */
public final class NativeBuffer {
    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final AtomicLong ALLOCATIONS = new AtomicLong();
    static final int ALIGN = 64;

    private final Pointer raw; // null for foreign memory (wrap)
    private final FloatPointer aligned;
    private final long capacity; // floats
    /** The foreign memory's owner, held so a garbage-collected runtime does not free the memory under a view. */
    private final Object foreignOwner;
    private boolean freed;

    NativeBuffer(long capacityFloats) {
        if (capacityFloats < 0) throw new IllegalArgumentException("negative capacity " + capacityFloats);
        long bytes = Math.max(1, capacityFloats) * Float.BYTES + ALIGN;
        Pointer p = Pointer.malloc(bytes);
        if (p == null || p.isNull()) {
            throw new OutOfMemoryError("native allocation of " + bytes + " bytes failed");
        }
        this.raw = p;
        long misalign = p.address() % ALIGN;
        this.aligned = floatsAt(p.address() + (misalign == 0 ? 0 : ALIGN - misalign), capacityFloats);
        this.capacity = capacityFloats;
        this.foreignOwner = null;
        LIVE_BYTES.addAndGet(bytes);
        ALLOCATIONS.incrementAndGet();
    }

    private NativeBuffer(long address, long capacityFloats, Object owner) {
        this.raw = null;
        this.aligned = floatsAt(address, capacityFloats);
        this.capacity = capacityFloats;
        this.foreignOwner = owner;
    }

    /**
     * A buffer over {@code capacityFloats} floats at {@code address} that another runtime owns: never freed here and
     * not counted in {@link #liveBytes()}; {@code owner} (the object whose collection would free the memory) stays
     * reachable as long as this buffer does. Not necessarily 64-byte aligned. Make tensors over it with
     * {@link Tensor#wrap}.
     */
    public static NativeBuffer wrap(long address, long capacityFloats, Object owner) {
        if (address == 0) throw new IllegalArgumentException("wrap: null address");
        if (capacityFloats < 0) throw new IllegalArgumentException("wrap: negative capacity " + capacityFloats);
        if (address % Float.BYTES != 0) throw new IllegalArgumentException("wrap: address " + address + " is not float-aligned");
        if (owner == null) throw new IllegalArgumentException("wrap: the owner of the memory is needed (it is kept reachable)");
        return new NativeBuffer(address, capacityFloats, owner);
    }

    /** Whether this buffer views memory another runtime owns ({@link #wrap}). */
    public boolean isForeign() {
        return raw == null;
    }

    /** Floats this buffer can hold. */
    public long capacity() {
        return capacity;
    }

    /** Pointer to the first (aligned) float. Do not free it. */
    public FloatPointer pointer() {
        checkLive();
        return aligned;
    }

    /** Native address of element {@code offset}. */
    public long address(long offset) {
        checkLive();
        return aligned.address() + offset * Float.BYTES;
    }

    /** A little-endian view of {@code length} floats from {@code offset}; Java code reads and writes through it. */
    public FloatBuffer floatBuffer(long offset, long length) {
        checkLive();
        if (offset < 0 || length < 0 || offset + length > capacity) {
            throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + length) + ") of a buffer of " + capacity);
        }
        if (length > Integer.MAX_VALUE) throw new IllegalArgumentException("view too large for a FloatBuffer: " + length);
        return floatsAt(address(offset), length).asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** A non-owning FloatPointer of {@code length} floats at a native address. */
    public static FloatPointer floatsAt(long address, long length) {
        long target = address; // inside the anonymous subclass, 'address' names Pointer's own field
        return new FloatPointer() {
            {
                this.address = target;
                this.capacity = length;
                this.limit = length;
            }
        };
    }

    boolean isFreed() {
        return freed;
    }

    void free() {
        if (freed) return;
        freed = true;
        if (raw == null) return; // foreign memory: its owner frees it
        LIVE_BYTES.addAndGet(-(Math.max(1, capacity) * Float.BYTES + ALIGN));
        Pointer.free(raw);
    }

    private void checkLive() {
        if (freed) throw new IllegalStateException("native buffer used after it was freed");
    }

    /** Bytes of native tensor memory alive in this JVM (all allocators). */
    public static long liveBytes() {
        return LIVE_BYTES.get();
    }

    /** Number of native allocations made so far in this JVM (never decreases). */
    public static long allocationCount() {
        return ALLOCATIONS.get();
    }
}
