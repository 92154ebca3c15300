package dev.unet4j.pipeline.denoising;

import java.util.Arrays;

/**
 * What one {@link Pipeline} run will do, known before its first UNet call (feature caches plan their refresh calls
 * from it).
 *
 * @param shape          the latent shape {@code [B, C, H, W]} (the sampler's batch; guidance doubles the UNet's)
 * @param steps          inference steps
 * @param callTimesteps  the timestep of every UNet call in order (one per model evaluation: Heun makes two per step
 *                       but the last, guidance batches count once)
 * @param seed           the generation's seed (its first batch item's), for policies that draw their own random
 *                       numbers from it (ToMe's destination choice); 0 when the run's noise is not seeded
 */
public record RunPlan(int[] shape, int steps, double[] callTimesteps, long seed) {
    public RunPlan {
        shape = shape.clone();
        callTimesteps = callTimesteps.clone();
    }

    public RunPlan(int[] shape, int steps, double[] callTimesteps) {
        this(shape, steps, callTimesteps, 0);
    }

    public RunPlan withSeed(long s) {
        return new RunPlan(shape, steps, callTimesteps, s);
    }

    /** Number of UNet calls of the run. */
    public int totalCalls() {
        return callTimesteps.length;
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public double[] callTimesteps() {
        return callTimesteps.clone();
    }

    @Override
    public String toString() {
        return "RunPlan[shape " + Arrays.toString(shape) + ", " + steps + " steps, " + callTimesteps.length + " calls]";
    }
}
