package dev.unet4j.e2e.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.pipeline.denoising.RunModel;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.Interceptors;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.UNetModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * The shared small models of the reliability tests, loaded once per JVM on one {@link DnnlKernels}: the demo model
 * {@code models/digits-16} (class-conditional, CFG with null class 10) and the text-conditioned fixture
 * {@code fixtures/unet2d-cond-sd-tiny} (cross-attention width 48), with their scheduler configs.
 */
final class Models {
    static final DnnlKernels KERNELS = new DnnlKernels();
    private static UNetModel digits, sdTiny;

    private Models() {
    }

    static synchronized UNetModel digits() {
        if (digits == null) digits = load(Fixtures.model("digits-16"));
        return digits;
    }

    static synchronized UNetModel sdTiny() {
        if (sdTiny == null) sdTiny = load(Fixtures.fixture("unet2d-cond-sd-tiny"));
        return sdTiny;
    }

    static UNetModel load(Path folder) {
        try {
            return UNetModel.load(folder, LoadOptions.of(KERNELS));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static SchedulerConfig digitsScheduler() {
        return SchedulerConfig.load(Fixtures.model("digits-16").resolve("scheduler_config.json"));
    }

    static SchedulerConfig sdScheduler() {
        Path fx = Fixtures.fixture("unet2d-cond-sd-tiny");
        try {
            return SchedulerConfig.parse(new ObjectMapper().readTree(Files.readString(fx.resolve("meta.json")))
                    .get("trajectory_ddim").get("scheduler_config").toString(), fx + "/meta.json");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Pipeline digitsPipeline(String sampler) {
        return Pipeline.of(digits(), Samplers.byName(sampler, SamplerOptions.of(digitsScheduler())));
    }

    static Pipeline sdPipeline(String sampler) {
        return Pipeline.of(sdTiny(), Samplers.byName(sampler, SamplerOptions.of(sdScheduler())));
    }

    /** Digits {@code classes} with CFG 1.5 (null class 10), one seed per item. */
    static Generation digitsGeneration(int steps, long seed, long... classes) {
        long[] seeds = new long[classes.length];
        for (int i = 0; i < seeds.length; i++) seeds[i] = seed + i;
        return Generation.of(steps).classes(classes).seeds(seeds).guidance(1.5, 10);
    }

    /** A seeded random "prompt" [1, 8, 48] for the SD fixture, CFG 5 against a second one, 16x16 latents. */
    static Generation sdGeneration(int steps, long seed) {
        return Generation.of(steps).size(16, 16).seeds(seed).conditioning(text(seed * 31 + 1)).guidance(5.0, text(seed * 31 + 2));
    }

    static TextConditioning text(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[8 * 48];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return new TextConditioning(v, new int[]{1, 8, 48});
    }

    /** Each run through a fresh cache session of {@code policy}, with {@code outer} (may be null) wrapped around it. */
    static RunModel.Factory cached(String policy, NodeInterceptor outer) {
        RunModel.Factory cached = CachedRunModel.factory(CachePolicies.parse(policy));
        return (session, plan) -> {
            RunModel run = cached.open(session, plan);
            if (outer != null) Interceptors.wrap(session, outer);
            return run;
        };
    }
}
