package dev.unet4j.caching;

/**
 * What a cache session knows about the generation ahead.
 *
 * @param totalCalls     number of UNet calls the sampler will make (Heun: 2 per step but the last, guidance batches
 *                       count once)
 * @param callTimesteps  the timestep of every call, or null; needed only by policies that evaluate future calls
 *                       ahead of time (parallel encoder propagation)
 * @param seed           the generation's seed, for policies that draw random numbers (ToMe's destination choice,
 *                       from a torch generator seeded with it); 0 unless given
 */
public record GenerationInfo(int totalCalls, double[] callTimesteps, long seed) {
    public GenerationInfo {
        if (totalCalls < 1) throw new IllegalArgumentException("totalCalls must be >= 1, got " + totalCalls);
        if (callTimesteps != null) {
            if (callTimesteps.length != totalCalls) {
                throw new IllegalArgumentException(callTimesteps.length + " call timesteps for " + totalCalls + " calls");
            }
            callTimesteps = callTimesteps.clone();
        }
    }

    public GenerationInfo(int totalCalls, double[] callTimesteps) {
        this(totalCalls, callTimesteps, 0);
    }

    public GenerationInfo withSeed(long s) {
        return new GenerationInfo(totalCalls, callTimesteps, s);
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
