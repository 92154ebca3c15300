package dev.unet4j.e2e.reliability;

import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.nn.QuantizationPlan;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One shared model per architecture (the demo digits model, its INT8 copy, and the text-conditioned SD fixture),
 * 8 threads started together by a barrier, each running several generations with its own seeds, sampler and
 * cache policy: every result is bit-identical to the same generation run alone, and native memory returns to its
 * baseline once all are done.
 */
class ConcurrentGenerationsTest {
    private static final int THREADS = 8;
    private static final List<String> SAMPLERS = List.of("ddim", "euler-karras", "heun-karras", "dpmpp-2m", "edm-heun");
    private static final List<String> CACHES = List.of("none", "deepcache:interval=2");

    private record Job(String label, Pipeline pipeline, Generation generation) {
        float[] run() {
            return pipeline.generate(generation).latents().data();
        }
    }

    @Test
    void eightThreadsOnSharedModelsMatchSoloRunsBitForBit() throws Exception {
        UNetModel digits = Models.digits(), sd = Models.sdTiny();
        try (UNetModel int8 = QuantizedUNets.load(Fixtures.model("digits-16"), Models.KERNELS,
                QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()))) {
            List<Job> jobs = new ArrayList<>();
            int k = 0;
            for (int t = 0; t < THREADS * 3; t++, k++) {
                String sampler = SAMPLERS.get(k % SAMPLERS.size());
                String cache = CACHES.get((k / SAMPLERS.size()) % CACHES.size());
                int kind = k % 3;
                UNetModel m = kind == 0 ? digits : kind == 1 ? int8 : sd;
                SamplerOptions opts = SamplerOptions.of(m == sd ? Models.sdScheduler() : Models.digitsScheduler());
                Pipeline p = Pipeline.of(m, Samplers.byName(sampler, opts));
                if (!cache.equals("none")) p = p.withRunModel(Models.cached(cache, null));
                Generation g = m == sd ? Models.sdGeneration(5, 100 + k) : Models.digitsGeneration(5, 100 + k, k % 10, (k + 3) % 10);
                jobs.add(new Job((kind == 0 ? "digits" : kind == 1 ? "digits-int8" : "sd-tiny") + "/" + sampler + "/" + cache + "/seed " + (100 + k), p, g));
            }
            List<float[]> solo = new ArrayList<>();
            for (Job j : jobs) solo.add(j.run()); // also fills the models' first-run caches of these shapes
            long live = NativeBuffer.liveBytes();

            CyclicBarrier start = new CyclicBarrier(THREADS);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<List<float[]>>> results = new ArrayList<>();
                List<List<Integer>> assigned = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    List<Integer> mine = new ArrayList<>();
                    for (int i = t; i < jobs.size(); i += THREADS) mine.add(i);
                    Collections.shuffle(mine, new Random(t)); // different interleavings per thread
                    assigned.add(mine);
                    results.add(pool.submit(() -> {
                        start.await(30, TimeUnit.SECONDS);
                        List<float[]> out = new ArrayList<>();
                        for (int i : mine) out.add(jobs.get(i).run());
                        return out;
                    }));
                }
                for (int t = 0; t < THREADS; t++) {
                    List<float[]> got = results.get(t).get(120, TimeUnit.SECONDS);
                    for (int i = 0; i < got.size(); i++) {
                        int job = assigned.get(t).get(i);
                        assertArrayEquals(solo.get(job), got.get(i), "thread " + t + ": " + jobs.get(job).label);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(live, NativeBuffer.liveBytes(), "native memory after the concurrent runs");
            assertTrue(jobs.stream().map(Job::label).distinct().count() == jobs.size());
        }
    }
}
