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

    /**
     * One classifier-free-guidance evaluation: the unconditional and the conditional prediction of {@code x}, returned
     * batched as {@code [uncond; cond]} ({@code 2 * x.batch()} items). The default is diffusers' single batched call
     * on {@code cat([x, x])} with {@code cat([uncond, cond])}. A model may answer otherwise, e.g. a cache that on
     * some calls runs only the conditional half and supplies the unconditional prediction itself (FasterCache's
     * CFG-Cache, T-GATE after its gate step); the combination stays {@link Guidance}'s.
     */
    default Latents forwardGuided(Latents x, ModelCall call, Conditioning uncond, Conditioning cond) {
        return forward(Latents.concat(x, x), call, uncond.concat(cond));
    }
}
