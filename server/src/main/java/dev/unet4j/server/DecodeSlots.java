package dev.unet4j.server;

import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Bounds how many uploaded images are decoded at once, so that concurrent uploads cannot exhaust the heap: each
 * decode at the pixel cap may need {@link #bytesPerDecode} bytes, and the slots together stay within a heap budget
 * (a quarter of the maximum heap by default). A request that finds every slot taken waits a bounded time, then gets
 * 503 with {@code Retry-After} — never an {@link OutOfMemoryError}.
 */
final class DecodeSlots {
    private final Semaphore slots;
    private final int size;
    private final long waitMillis;
    private final int retryAfterSeconds;

    DecodeSlots(int size, long waitMillis, int retryAfterSeconds) {
        if (size < 1) throw new IllegalArgumentException("decode slots must be >= 1, got " + size);
        this.slots = new Semaphore(size, true);
        this.size = size;
        this.waitMillis = waitMillis;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Slots for {@code config}: its decode budget divided by one decode at the pixel cap, at least 1. */
    static DecodeSlots of(ServerConfig config) {
        long perDecode = bytesPerDecode(config.maxPixels(), config.maxImageBytes());
        int n = (int) Math.max(1, Math.min(Integer.MAX_VALUE, config.decodeBudgetBytes() / perDecode));
        // wait as long as a refused client is told to wait before retrying
        return new DecodeSlots(n, config.retryAfterSeconds() * 1000L, config.retryAfterSeconds());
    }

    /**
     * An upper estimate of the heap one PNG decode of {@code maxPixels} pixels allocates: the inflated scanlines (up
     * to 8 bytes a pixel for 16-bit RGBA, at most twice that over the doublings of the growing buffer), the 3-byte RGB
     * result, and the compressed data up to three times (the IDAT stream collected in a doubling buffer, and its copy).
     */
    static long bytesPerDecode(long maxPixels, long maxImageBytes) {
        return maxPixels * (2 * 8 + 3) + 3 * maxImageBytes;
    }

    int size() {
        return size;
    }

    /** Takes a slot for the decode of {@code field}; 503 with Retry-After when none frees up in time. */
    Slot acquire(String field) {
        boolean got;
        try {
            got = slots.tryAcquire(waitMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, field, "the server is stopping");
        }
        if (!got) {
            throw new ApiException(503, field, field + ": the server is decoding " + size + " uploaded images already (its memory budget); retry later",
                    Map.of("Retry-After", Integer.toString(retryAfterSeconds)));
        }
        return slots::release;
    }

    /** A held slot; closing it frees it. */
    interface Slot extends AutoCloseable {
        @Override
        void close();
    }
}
