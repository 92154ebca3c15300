package dev.unet4j.caching;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link FeatureStore#keep}: an owned output is kept without a copy, a view is copied, a refused one is left alone. */
class FeatureStoreTest {
    private static final ReferenceKernels REF = new ReferenceKernels();

    @Test
    void keepMovesAnOwnedTensorAndHandsBackAView() {
        float[] v = {1, 2, 3, 4, 5, 6};
        try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = REF.newWorkspace(pool);
             FeatureStore store = new FeatureStore(new CacheBudget(CacheOptions.unbounded()))) {
            Tensor out = Tensor.allocate(pool, 2, 3);
            out.setFrom(v);
            long address = out.address(), allocations = pool.allocations();
            Tensor given = store.keep("n", out, REF, ws);
            assertFalse(given.isOwner(), "the graph gets a view");
            assertEquals(address, given.address(), "no copy");
            assertEquals(allocations, pool.allocations());
            given.close();                                           // the graph is done with it: frees nothing
            try (Tensor served = store.take("n")) {
                assertArrayEquals(v, served.toFloatArray());
                assertEquals(address, served.address());
            }
            assertEquals(24, store.bytes());
            store.clear();
            assertEquals(0, pool.outstandingBytes(), "clear returns the moved buffer to the pool");
        }
    }

    @Test
    void keepCopiesAViewAndLeavesARefusedTensorAlone() {
        try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = REF.newWorkspace(pool);
             Tensor base = Tensor.of(new float[]{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4);
             FeatureStore store = new FeatureStore(new CacheBudget(CacheOptions.bounded(40, CacheOptions.Overflow.RUN_FULL)))) {
            Tensor view = base.narrow(1, 1, 2);                     // [[2, 3], [6, 7]]
            assertSame(view, store.keep("v", view, REF, ws));
            try (Tensor served = store.take("v")) {
                assertArrayEquals(new float[]{2, 3, 6, 7}, served.toFloatArray());
                assertNotEquals(view.address(), served.address(), "a view is copied");
            }
            Tensor big = Tensor.allocate(pool, 4, 4);                 // 64 bytes: over the 40-byte bound with 16 held
            assertSame(big, store.keep("big", big, REF, ws));
            assertTrue(big.isOwner() && !big.isClosed(), "refused: still the caller's");
            assertTrue(store.refusedSome());
            assertFalse(store.contains("big"));
            big.close();
        }
    }
}
