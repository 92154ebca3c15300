package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Attributes;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import org.bytedeco.dnnl.dnnl_stream;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * One thread's execution context for {@link DnnlKernels}: its own oneDNN stream and scratchpad (every primitive
 * is created with {@code dnnl_scratchpad_mode_user}, so primitives shared between workspaces never share
 * temporary memory), the allocator results come from, and the session attributes. Not thread-safe.
 */
public final class DnnlWorkspace implements Workspace {
    private static final int SCALAR_SLOTS = 16;

    private final Allocator allocator;
    private final Attributes attributes = new Attributes();
    private final dnnl_stream stream;
    private NativeBuffer scratchpad;
    private NativeBuffer staging;
    private final NativeBuffer scalars;
    private boolean closed;
    /** Per primitive run here: its memory objects (see {@link ArgBinding}). */
    private final java.util.Map<Primitive, ArgBinding> bindings = new java.util.IdentityHashMap<>();
    private static final int MAX_BINDINGS = 8192;

    /** OpenMP threads for the primitives made and run here, set on the calling thread; 0 = leave it. */
    private final int threads;

    DnnlWorkspace(Allocator allocator) {
        this(allocator, 0);
    }

    DnnlWorkspace(Allocator allocator, int threads) {
        this.allocator = allocator;
        this.threads = threads;
        dnnl_stream s = new dnnl_stream();
        check(dnnl_stream_create(s, Dnnl.engine(), dnnl_stream_default_flags), "stream_create");
        this.stream = s;
        this.scalars = Allocator.direct().acquire(SCALAR_SLOTS);
    }

    @Override
    public Allocator allocator() {
        return allocator;
    }

    @Override
    public Attributes attributes() {
        return attributes;
    }

    /**
     * Sets this workspace's thread count on the calling thread: OpenMP keeps it per thread, and oneDNN reads it both
     * when a primitive is made (it is baked in) and when it runs. Cheap; called on entry to every operation.
     */
    void applyThreads() {
        if (threads > 0) IntraOpThreads.set(threads);
    }

    dnnl_stream stream() {
        checkOpen();
        return stream;
    }

    /** Address of a scratchpad of at least {@code bytes}, grown (never shrunk) as larger primitives run. */
    long scratchpad(long bytes) {
        checkOpen();
        long floats = (bytes + Float.BYTES - 1) / Float.BYTES;
        if (scratchpad == null || scratchpad.capacity() < floats) {
            if (scratchpad != null) Allocator.direct().release(scratchpad);
            scratchpad = null;
            scratchpad = Allocator.direct().acquire(floats);
        }
        return scratchpad.address(0);
    }

    /**
     * Address of a staging buffer of at least {@code bytes} (grown, never shrunk), for data converted just before one
     * primitive runs (a float32 source in bf16). Valid until the next call.
     */
    long staging(long bytes) {
        checkOpen();
        long floats = (bytes + Float.BYTES - 1) / Float.BYTES;
        if (staging == null || staging.capacity() < floats) {
            if (staging != null) Allocator.direct().release(staging);
            staging = null;
            staging = Allocator.direct().acquire(floats);
        }
        return staging.address(0);
    }

    /** Address of scalar slot {@code i} after writing {@code value} there (runtime scales). */
    long scalar(int i, float value) {
        checkOpen();
        scalars.floatBuffer(i, 1).put(0, value);
        return scalars.address(i);
    }

    /** Address of scalar slot {@code i} (a primitive writes its result there). */
    long scalarSlot(int i) {
        checkOpen();
        return scalars.address(i);
    }

    /** The value in scalar slot {@code i}. */
    float scalarValue(int i) {
        checkOpen();
        return scalars.floatBuffer(i, 1).get(0);
    }

    /** The binding for running {@code p} with these (argument id, address) pairs, plus the scratchpad when {@code scratch}. */
    ArgBinding binding(Primitive p, long[] argAddressPairs, boolean scratch) {
        checkOpen();
        ArgBinding b = bindings.get(p);
        if (b != null && b.matches(argAddressPairs, scratch)) return b;
        if (b != null) {                                           // another argument list: re-made (out of the map first, so a
            bindings.remove(p);                                    // clear below cannot close it twice)
            b.close();
        }
        int n = argAddressPairs.length / 2 + (scratch ? 1 : 0);
        int[] ids = new int[n];
        for (int i = 0; i < argAddressPairs.length / 2; i++) ids[i] = (int) argAddressPairs[2 * i];
        if (scratch) ids[n - 1] = DNNL_ARG_SCRATCHPAD;
        if (bindings.size() >= MAX_BINDINGS) clearBindings();     // primitives evicted and re-made: do not grow without bound
        b = new ArgBinding(p, ids);
        bindings.put(p, b);
        return b;
    }

    private void clearBindings() {
        bindings.values().forEach(ArgBinding::close);
        bindings.clear();
    }

    /** Bytes of scratchpad currently held. */
    public long scratchpadBytes() {
        return scratchpad == null ? 0 : scratchpad.capacity() * Float.BYTES;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("DnnlWorkspace used after close");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        clearBindings();
        dnnl_stream_destroy(stream);
        if (scratchpad != null) Allocator.direct().release(scratchpad);
        if (staging != null) Allocator.direct().release(staging);
        staging = null;
        Allocator.direct().release(scalars);
        scratchpad = null;
    }
}
