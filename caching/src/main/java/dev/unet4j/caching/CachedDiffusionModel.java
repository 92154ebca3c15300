package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.NoConditioning;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;

/**
 * The samplers' {@link DiffusionModel} over a {@link CacheSession}: the same tensor conversion as the samplers'
 * {@code UNetDenoiser} (timestep as a float64 tensor, text conditioning as encoder_hidden_states, class conditioning
 * as class_labels), but every evaluation goes through the cache session with the sampler's
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
        if (cond.batchSize() != x.batch()) {
            throw new IllegalArgumentException("conditioning has " + cond.batchSize() + " items for a batch of " + x.batch());
        }
        Tensor ehs = null, labels = null;
        try (Tensor sample = Tensor.of(x.data(), x.shape())) {
            UNetInputs.Builder in = UNetInputs.builder(sample, Timestep.float64(call.timestep()));
            if (cond instanceof TextConditioning t) {
                ehs = Tensor.of(t.data(), t.shape());
                in.encoderHiddenStates(ehs);
            } else if (cond instanceof ClassConditioning c) {
                float[] l = new float[c.labels().length];
                for (int i = 0; i < l.length; i++) l[i] = c.labels()[i];
                labels = Tensor.of(l, l.length);
                in.classLabels(labels);
            } else if (!(cond instanceof NoConditioning)) {
                throw new IllegalArgumentException("CachedDiffusionModel does not understand " + cond.getClass().getName());
            }
            try (Tensor out = cache.call(call.callIndex(), in.build())) {
                long[] s = out.shape();
                int[] shape = new int[s.length];
                for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
                return new Latents(out.toFloatArray(), shape);
            }
        } finally {
            if (ehs != null) ehs.close();
            if (labels != null) labels.close();
        }
    }
}
