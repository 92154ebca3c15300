package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CacheOptions;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.guidance.DiffusionModel;

import java.util.Objects;

/**
 * A {@link dev.unet4j.pipeline.denoising.Pipeline} run whose UNet calls go through a fresh {@link CacheSession}:
 * {@code pipeline.withRunModel(CachedRunModel.factory(CachePolicies.parse("deepcache:interval=3")))}. The cache
 * session is planned for the run's calls (their timesteps), reports MACs done vs full compute from its
 * {@link GenerationReport}, and is closed with the run.
 */
public final class CachedRunModel implements RunModel {
    private final CacheSession cache;
    private final DiffusionModel model;

    private CachedRunModel(CacheSession cache) {
        this.cache = cache;
        this.model = new CachedDiffusionModel(cache);
    }

    /** Each run through a fresh, unbounded cache session of {@code policy}. */
    public static RunModel.Factory factory(CachePolicy policy) {
        return factory(policy, CacheOptions.unbounded());
    }

    /** Each run through a fresh cache session of {@code policy} with {@code options} (e.g. a byte bound). */
    public static RunModel.Factory factory(CachePolicy policy, CacheOptions options) {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(options, "options");
        return (session, plan) -> new CachedRunModel(
                CacheSession.open(session, policy, GenerationInfo.withTimesteps(plan.callTimesteps()).withSeed(plan.seed()), options));
    }

    /** The run's cache session (its report lists what ran on each call). */
    public CacheSession cache() {
        return cache;
    }

    @Override
    public DiffusionModel model() {
        return model;
    }

    /** The cache session's latent hook (policies that edit the sampler's latents), or null. */
    @Override
    public LatentHook latentHook() {
        return cache.latentHook();
    }

    @Override
    public long macsDone() {
        return cache.report().macsDone();
    }

    @Override
    public long macsFull() {
        return cache.report().fullMacs();
    }

    @Override
    public void close() {
        cache.close();
    }
}
