package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CacheSession;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;

/**
 * The samplers' {@link DiffusionModel} over a {@link CacheSession}: the tensor conversion is
 * {@link UNetDenoiser}'s (timestep as a float64 tensor, text conditioning as encoder_hidden_states, class
 * conditioning as class_labels), but every evaluation goes through the cache session with the sampler's
 * {@link ModelCall#callIndex()}, so a guided batch (2B) is one cache call and a new run (call 0) resets the caches.
 * Guided evaluations ({@link #forwardGuided}) tell the session which half is which, so policies may drop the
 * unconditional half (T-GATE, CFG-Cache).
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

    /**
     * The guided evaluation through the cache session: one {@code [x, x]} call with {@code cat([uncond, cond])}, or,
     * where a policy drops the unconditional half on this call ({@link CacheSession#conditionalOnly}), a batch-B
     * call on the conditional half whose unconditional prediction the policy supplies.
     */
    @Override
    public Latents forwardGuided(Latents x, ModelCall call, Conditioning uncond, Conditioning cond) {
        int k = call.callIndex();
        if (cache.conditionalOnly(k, call.timestep())) {
            return UNetDenoiser.forward(x, call, cond, in -> cache.callConditionalOnly(k, in));
        }
        return UNetDenoiser.forward(Latents.concat(x, x), call, uncond.concat(cond), in -> cache.callGuided(k, in));
    }
}
