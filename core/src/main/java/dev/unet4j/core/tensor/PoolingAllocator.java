package dev.unet4j.core.tensor;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A per-session caching allocator: released buffers are kept by exact size and handed out again, so steady-state
 * forwards of the same shapes make no native allocation. Not thread-safe: one per session (one generation).
 * {@link #close()} frees every pooled buffer; buffers still held by live tensors are freed when released after close.
 *
 * <p>A pool may be bounded ({@link #PoolingAllocator(long)}): a released buffer that would take the retained bytes over
 * the bound is freed at once. A network whose maps change size at every stage (a VAE decoder: 64 MB at one
 * resolution, 134 and 268 MB at the next) otherwise keeps a buffer of every size it ever used, and its peak becomes the
 * sum of its stages instead of the largest one.
 */
public final class PoolingAllocator implements Allocator, AutoCloseable {
    private final Map<Long, ArrayDeque<NativeBuffer>> free = new HashMap<>();
    // handed out and not yet released: what closeAll() frees when a failed call left tensors unclosed
    private final Set<NativeBuffer> handedOut = Collections.newSetFromMap(new IdentityHashMap<>());
    private final long maxPooledBytes;
    private long pooledBytes;
    private long outstandingBytes;
    private long peakBytes;
    private long allocations;
    private boolean closed;

    /** An unbounded pool: every released buffer is kept. */
    public PoolingAllocator() {
        this(Long.MAX_VALUE);
    }

    /** A pool that retains at most {@code maxPooledBytes} of released buffers (0: frees every buffer on release). */
    public PoolingAllocator(long maxPooledBytes) {
        if (maxPooledBytes < 0) throw new IllegalArgumentException("PoolingAllocator: maxPooledBytes must be >= 0, got " + maxPooledBytes);
        this.maxPooledBytes = maxPooledBytes;
    }

    @Override
    public NativeBuffer acquire(long floats) {
        long key = Math.max(1, floats);
        ArrayDeque<NativeBuffer> q = free.get(key);
        NativeBuffer b = q == null ? null : q.pollFirst();
        if (b == null) {
            b = new NativeBuffer(key);
            allocations++;
        } else {
            pooledBytes -= key * Float.BYTES;
        }
        outstandingBytes += key * Float.BYTES;
        handedOut.add(b);
        peakBytes = Math.max(peakBytes, outstandingBytes + pooledBytes);
        return b;
    }

    @Override
    public void release(NativeBuffer buffer) {
        long key = buffer.capacity();
        if (!handedOut.remove(buffer) && buffer.isFreed()) return; // freed by closeAll(), its tensor closed later
        outstandingBytes -= key * Float.BYTES;
        if (closed || key * Float.BYTES > maxPooledBytes - pooledBytes) {
            buffer.free();
            return;
        }
        free.computeIfAbsent(key, k -> new ArrayDeque<>()).addFirst(buffer);
        pooledBytes += key * Float.BYTES;
    }

    /** Native allocations this pool has made (a steady-state forward adds none). */
    public long allocations() {
        return allocations;
    }

    /** Bytes held by live tensors from this pool. */
    public long outstandingBytes() {
        return outstandingBytes;
    }

    /** Bytes kept for reuse. */
    public long pooledBytes() {
        return pooledBytes;
    }

    /** Largest outstanding + pooled bytes seen. */
    public long peakBytes() {
        return peakBytes;
    }

    /** Frees pooled buffers (keeps the pool usable). */
    public void trim() {
        for (ArrayDeque<NativeBuffer> q : free.values()) {
            for (NativeBuffer b : q) b.free();
        }
        free.clear();
        pooledBytes = 0;
    }

    @Override
    public void close() {
        trim();
        closed = true;
    }

    /**
     * Closes the pool and also frees the buffers still handed out, for an owner whose contract ends every tensor's
     * life with its own (a session: its results must not be used after it closes). An exception in the middle of a
     * call can leave intermediate tensors unclosed; this returns their memory. Tensors over such buffers fail with
     * {@link IllegalStateException} if used afterwards, and closing them is a no-op. Returns the bytes freed that way.
     */
    public long closeAll() {
        close();
        long bytes = 0;
        for (NativeBuffer b : handedOut) {
            bytes += b.capacity() * Float.BYTES;
            b.free();
        }
        handedOut.clear();
        outstandingBytes = 0;
        return bytes;
    }
}
