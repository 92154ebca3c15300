package dev.unet4j.samplers.guidance;

import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;

/**
 * The network with its conditioning input: one forward pass over a batch, {@code cond.batchSize() == x.batch()},
 * every item at {@code call.timestep()}. Returns the raw output, shaped like {@code x}.
 */
@FunctionalInterface
public interface DiffusionModel {
    Latents forward(Latents x, ModelCall call, Conditioning cond);
}
