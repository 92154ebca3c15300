package dev.unet4j.core.tensor;

/**
 * Where tensors get their native memory. Standalone tensors use {@link #direct()};
 * a forward pass uses a {@link PoolingAllocator} owned by its session, so a second forward of the same shapes
 * allocates nothing new.
 */
public interface Allocator {
    /** A buffer of at least {@code floats} elements. */
    NativeBuffer acquire(long floats);

    /** Gives a buffer back; the allocator frees or reuses it. */
    void release(NativeBuffer buffer);

    /** Allocates on acquire, frees on release. Thread-safe. */
    static Allocator direct() {
        return DirectAllocator.INSTANCE;
    }
}

final class DirectAllocator implements Allocator {
    static final DirectAllocator INSTANCE = new DirectAllocator();

    @Override
    public NativeBuffer acquire(long floats) {
        return new NativeBuffer(floats);
    }

    @Override
    public void release(NativeBuffer buffer) {
        buffer.free();
    }
}
