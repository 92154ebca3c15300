package dev.unet4j.core.tensor;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's reuse and its bound on retained bytes, counted by hand for each sequence of calls. */
class PoolingAllocatorTest {
    @Test
    void unboundedPoolKeepsEverySizeAndCountsItInThePeak() {
        try (PoolingAllocator pool = new PoolingAllocator()) {
            NativeBuffer a = pool.acquire(1000);                   // 4000 bytes
            pool.release(a);
            NativeBuffer b = pool.acquire(2000);                   // another size: a new buffer, a stays pooled
            assertEquals(8000, pool.outstandingBytes());
            assertEquals(4000, pool.pooledBytes());
            assertEquals(12000, pool.peakBytes());
            pool.release(b);
            assertSame(a, pool.acquire(1000), "the same size is handed out again");
            assertEquals(2, pool.allocations());
        }
    }

    @Test
    void boundedPoolFreesWhatWouldExceedItsBound() {
        try (PoolingAllocator pool = new PoolingAllocator(10_000)) {
            NativeBuffer small = pool.acquire(1000), big = pool.acquire(3000), mid = pool.acquire(1500); // 4000, 12000, 6000 bytes
            assertEquals(22000, pool.peakBytes());
            pool.release(small);                                   // 4000 retained
            pool.release(big);                                     // 4000 + 12000 > 10000: freed
            assertTrue(big.isFreed());
            pool.release(mid);                                     // 4000 + 6000 = 10000: retained
            assertFalse(mid.isFreed());
            assertEquals(10000, pool.pooledBytes());
            assertEquals(0, pool.outstandingBytes());
            NativeBuffer next = pool.acquire(3000);                // the freed size: a new allocation
            assertEquals(4, pool.allocations());
            assertEquals(22000, pool.peakBytes(), "10000 pooled + 12000 outstanding does not pass the first peak");
            pool.release(next);
            assertSame(small, pool.acquire(1000));
            assertEquals(4, pool.allocations());
        }
    }

    @Test
    void zeroBoundFreesEveryReleasedBuffer() {
        try (PoolingAllocator pool = new PoolingAllocator(0)) {
            NativeBuffer a = pool.acquire(10);
            pool.release(a);
            assertTrue(a.isFreed());
            assertEquals(0, pool.pooledBytes());
            pool.acquire(10);
            assertEquals(2, pool.allocations());
            assertEquals(40, pool.peakBytes());
        }
    }

    @Test
    void negativeBoundIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PoolingAllocator(-1));
        assertTrue(e.getMessage().contains("maxPooledBytes"), e.getMessage());
    }
}
