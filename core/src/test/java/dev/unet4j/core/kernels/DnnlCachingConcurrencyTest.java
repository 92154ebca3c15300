package dev.unet4j.core.kernels;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Primitive caching, allocation-free steady state, and shared prepared layers used from several threads. */
class DnnlCachingConcurrencyTest {

    /** One resnet-like step touching most primitive kinds. */
    private static Tensor step(Workspace ws, Conv2d conv, Linear proj, Tensor x, Tensor tokens) {
        try (Tensor h = DNNL.groupNorm(ws, x, 4, null, null, 1e-5f, true);
             Tensor c = conv.forward(ws, h, x, 0.5f);
             Tensor up = DNNL.upsampleNearest(ws, c, 12, 10);
             Tensor q = proj.forward(ws, tokens);
             Tensor a = DNNL.attention(ws, q, q, q, 2, 0.25f, null);
             Tensor cat = DNNL.concat(ws, up, up)) {
            return DNNL.add(ws, a, tokens, 1f, 0.5f);
        }
    }

    @Test
    void secondCallWithSameShapesCreatesNoPrimitiveAndAllocatesNothing() {
        try (var t = new DnnlTestSupport.Tensors(41);
             Conv2d conv = DNNL.conv2d(Conv2dSpec.of(8, 8, 3, 1, 1), t.randn(8, 8, 3, 3), t.randn(8));
             Linear proj = DNNL.linear(t.randn(16, 16), null);
             PoolingAllocator pool = new PoolingAllocator();
             Workspace ws = DNNL.newWorkspace(pool)) {
            Tensor x = t.randnNhwc(2, 8, 6, 5), tokens = t.randn(2, 9, 16);
            float[] first;
            try (Tensor y = step(ws, conv, proj, x, tokens)) {
                first = y.toFloatArray();
            }
            long primitives = DnnlKernels.primitivesCreated(), allocations = pool.allocations();
            try (Tensor y = step(ws, conv, proj, x, tokens)) {
                assertArrayEquals(first, y.toFloatArray(), "same inputs, same result");
            }
            assertEquals(primitives, DnnlKernels.primitivesCreated(), "primitives created by the second call");
            assertEquals(allocations, pool.allocations(), "pool allocations made by the second call");
            assertEquals(0, pool.outstandingBytes(), "every temporary went back to the pool");
        }
    }

    @Test
    void twoThreadsWithOwnWorkspacesShareOnePreparedConv() throws Exception {
        try (var t = new DnnlTestSupport.Tensors(42);
             Conv2d conv = DNNL.conv2d(Conv2dSpec.of(16, 24, 3, 1, 1), t.randn(24, 16, 3, 3), t.randn(24))) {
            int n = 8;
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < n; i++) inputs.add(t.randnNhwc(1, 16, 17, 13));
            float[][] serial = new float[n][];
            try (Workspace ws = DNNL.newWorkspace(dev.unet4j.core.tensor.Allocator.direct())) {
                for (int i = 0; i < n; i++) {
                    try (Tensor y = conv.forward(ws, inputs.get(i))) {
                        serial[i] = y.toFloatArray();
                    }
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<float[][]>> results = new ArrayList<>();
                for (int thread = 0; thread < 2; thread++) {
                    results.add(pool.submit(() -> {
                        float[][] out = new float[n][];
                        try (PoolingAllocator alloc = new PoolingAllocator(); Workspace ws = DNNL.newWorkspace(alloc)) {
                            for (int rep = 0; rep < 5; rep++) {
                                for (int i = 0; i < n; i++) {
                                    try (Tensor y = conv.forward(ws, inputs.get(i))) {
                                        out[i] = y.toFloatArray();
                                    }
                                }
                            }
                        }
                        return out;
                    }));
                }
                for (Future<float[][]> f : results) {
                    float[][] got = f.get();
                    for (int i = 0; i < n; i++) assertArrayEquals(serial[i], got[i], "input " + i + " computed concurrently");
                }
            } finally {
                pool.shutdown();
            }
            assertTrue(pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS));
        }
    }
}
