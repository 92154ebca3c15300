package dev.unet4j.caching;

import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.UNetDenoiser;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;

/**
 * The samplers' {@link DiffusionModel} over a {@link CacheSession}: the tensor conversion is
 * {@link UNetDenoiser}'s (timestep as a float64 tensor, text conditioning as encoder_hidden_states, class
 * conditioning as class_labels), but every evaluation goes through the cache session with the sampler's
 * {@link ModelCall#callIndex()}, so a guided batch (2B) is one cache call and a new run (call 0) resets the caches.
 * Wrap it with {@link dev.unet4j.samplers.guidance.Guidance} as usual. Not thread-safe.
 */
public final class CachedDiffusionModel implements DiffusionModel {
    private final CacheSession cache;

    public CachedDiffusionModel(CacheSession cache) {
        this.cache = cache;
    }

    public CacheSession cache() {
        return cache;
    }

    @Override
    public Latents forward(Latents x, ModelCall call, Conditioning cond) {
        return UNetDenoiser.forward(x, call, cond, in -> cache.call(call.callIndex(), in));
    }
}
