package dev.unet4j.caching;

/**
 * What a cache session knows about the generation ahead.
 *
 * @param totalCalls     number of UNet calls the sampler will make (Heun: 2 per step but the last, guidance batches
 *                       count once)
 * @param callTimesteps  the timestep of every call, or null; needed only by policies that evaluate future calls
 *                       ahead of time (parallel encoder propagation)
 */
public record GenerationInfo(int totalCalls, double[] callTimesteps) {
    public GenerationInfo {
        if (totalCalls < 1) throw new IllegalArgumentException("totalCalls must be >= 1, got " + totalCalls);
        if (callTimesteps != null) {
            if (callTimesteps.length != totalCalls) {
                throw new IllegalArgumentException(callTimesteps.length + " call timesteps for " + totalCalls + " calls");
            }
            callTimesteps = callTimesteps.clone();
        }
    }

    public static GenerationInfo calls(int totalCalls) {
        return new GenerationInfo(totalCalls, null);
    }

    public static GenerationInfo withTimesteps(double... callTimesteps) {
        return new GenerationInfo(callTimesteps.length, callTimesteps);
    }

    @Override
    public double[] callTimesteps() {
        return callTimesteps == null ? null : callTimesteps.clone();
    }
}
