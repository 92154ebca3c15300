package dev.unet4j.e2e.reliability;

import dev.unet4j.caching.CacheBudgetExceededException;
import dev.unet4j.caching.CacheOptions;
import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.denoising.CachedDiffusionModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory does not grow: every generation returns {@link NativeBuffer#liveBytes()} to its baseline, a session
 * making 1,000 calls stops allocating after its first call (the pool serves the rest) and the process RSS stays
 * flat, and a cache's byte bound is honoured.
 */
class NativeMemoryTest {

    @Test
    void everyGenerationReturnsNativeMemoryToItsBaseline() {
        Models.digits();
        Models.sdTiny();
        for (String sampler : List.of("ddim", "euler-karras", "heun-karras", "dpmpp-2m", "edm-heun")) {
            for (String cache : List.of("none", "deepcache:interval=2", "faster:preset=50")) {
                for (Pipeline p : List.of(Models.digitsPipeline(sampler), Models.sdPipeline(sampler))) {
                    Pipeline q = cache.equals("none") ? p : p.withRunModel(Models.cached(cache, null));
                    Generation g = p.unet() == Models.sdTiny() ? Models.sdGeneration(4, 9) : Models.digitsGeneration(4, 9, 1, 2);
                    long before = NativeBuffer.liveBytes();
                    q.generate(g); // the first run of a shape may fill model-lifetime caches (packed weights)
                    long live = NativeBuffer.liveBytes();
                    q.generate(g);
                    System.out.printf("%s / %s / %s: first run kept %+d bytes, second %+d%n", p.unet() == Models.sdTiny() ? "sd" : "digits",
                            sampler, cache, live - before, NativeBuffer.liveBytes() - live);
                    assertEquals(live, NativeBuffer.liveBytes(), sampler + " / " + cache);
                }
            }
        }
    }

    @Test
    void thousandCallsOnOneSessionDoNotGrow() throws IOException {
        UNetModel m = Models.digits();
        Models.digitsPipeline("ddim").generate(Models.digitsGeneration(1, 0, 3)); // first-run caches of the shape
        long live = NativeBuffer.liveBytes();
        long[] allocationsAt = new long[3];
        long[] rssAt = new long[3];
        long[] heapAt = new long[3];
        try (UNetSession s = m.newSession(); Tensor x = Tensor.zeros(2, 1, 16, 16); Tensor labels = Tensor.of(new float[]{3, 10}, 2L)) {
            float[] noise = new float[512];
            for (int i = 0; i < noise.length; i++) noise[i] = (float) Math.sin(i * 0.37);
            x.setFrom(noise);
            for (int call = 0; call < 1000; call++) {
                UNetInputs in = UNetInputs.builder(x, Timestep.int64(999 - call % 1000, 999 - call % 1000)).classLabels(labels).build();
                try (Tensor out = s.forward(in)) {
                    if (call % 100 == 0) assertTrue(Float.isFinite(out.get(0, 0, 0, 0)));
                }
                if (call == 99 || call == 499 || call == 999) {
                    int k = call == 99 ? 0 : call == 499 ? 1 : 2;
                    if (k == 0) touchHeap();
                    allocationsAt[k] = NativeBuffer.allocationCount();
                    rssAt[k] = rss();
                    heapAt[k] = Runtime.getRuntime().totalMemory();
                }
            }
        }
        System.out.printf("1000 calls: native allocations after call 100 / 500 / 1000 = %d / %d / %d; VmRSS %.1f / %.1f / %.1f MB;"
                        + " Java heap committed %.1f / %.1f / %.1f MB%n", allocationsAt[0], allocationsAt[1], allocationsAt[2],
                rssAt[0] / 1e6, rssAt[1] / 1e6, rssAt[2] / 1e6, heapAt[0] / 1e6, heapAt[1] / 1e6, heapAt[2] / 1e6);
        assertEquals(allocationsAt[0], allocationsAt[2], "native allocations after warm-up");
        // RSS is a coarse check: the JVM keeps touching (and may grow) its heap for a while, which moves RSS by tens of
        // MB whatever the library does. The bound still catches any per-call native leak above ~140 KB (the SD
        // fixture's weights are 8 MB); the exact proof of "no growth" is the constant allocation count above.
        long grown = (rssAt[2] - heapAt[2]) - (rssAt[0] - heapAt[0]);
        assertTrue(grown < 128L << 20, "RSS (less heap growth) grew by " + grown / 1e6 + " MB over calls 100-1000");
        assertEquals(live, NativeBuffer.liveBytes(), "native memory after the session closed");
    }

    /**
     * Cycles the young generation through twice the committed heap in small (non-humongous) arrays, so the JVM's
     * first touches of its heap pages happen now and not inside the measured window.
     */
    private static void touchHeap() {
        long chunks = 2 * Runtime.getRuntime().totalMemory() / (64 << 10);
        byte[][] last = new byte[1][];
        for (long i = 0; i < chunks; i++) last[0] = new byte[64 << 10];
        assertEquals(64 << 10, last[0].length);
    }

    /** VmRSS of this process, in bytes. */
    static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void cacheByteBoundIsHonoured() {
        Pipeline p = Models.digitsPipeline("ddim");
        Generation g = Models.digitsGeneration(6, 4, 7, 8);
        float[] full = p.generate(g).latents().data();
        AtomicLong unboundedPeak = new AtomicLong();
        float[] cached = p.withRunModel(bounded(CacheOptions.unbounded(), unboundedPeak)).generate(g).latents().data();
        assertTrue(unboundedPeak.get() > 0, "the policy keeps features");
        long bound = unboundedPeak.get() / 2;
        // FAIL: the run stops with the node and sizes named
        CacheBudgetExceededException e = assertThrows(CacheBudgetExceededException.class,
                () -> p.withRunModel(bounded(CacheOptions.bounded(bound, CacheOptions.Overflow.FAIL), new AtomicLong())).generate(g));
        assertTrue(e.getMessage().contains(Long.toString(bound)) || e.getMessage().contains(String.format("%,d", bound)), e.getMessage());
        // RUN_FULL: never above the bound; with a bound too small for anything, the result is the full computation
        AtomicLong peak = new AtomicLong();
        p.withRunModel(bounded(CacheOptions.bounded(bound, CacheOptions.Overflow.RUN_FULL), peak)).generate(g);
        assertTrue(peak.get() <= bound, "peak " + peak.get() + " > bound " + bound);
        AtomicLong tiny = new AtomicLong();
        float[] refused = p.withRunModel(bounded(CacheOptions.bounded(1, CacheOptions.Overflow.RUN_FULL), tiny)).generate(g).latents().data();
        assertEquals(0, tiny.get());
        assertArrayEquals(full, refused, "nothing cached = full computation");
        assertTrue(!java.util.Arrays.equals(full, cached), "the unbounded cache did change the computation");
    }

    /** DeepCache with {@code options}; records the generation's peak cache bytes into {@code peak} when it closes. */
    private static RunModel.Factory bounded(CacheOptions options, AtomicLong peak) {
        return (session, plan) -> {
            CacheSession cache = CacheSession.open(session, CachePolicies.parse("deepcache:interval=3"),
                    GenerationInfo.withTimesteps(plan.callTimesteps()), options);
            return RunModel.of(new CachedDiffusionModel(cache), () -> {
                peak.set(cache.report().peakBytes());
                cache.close();
            });
        };
    }
}
