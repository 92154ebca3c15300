package dev.unet4j.samplers.kdiffusion;

/**
 * A sigma-space inference schedule as diffusers' Euler/Heun/DPM schedulers hold it after {@code set_timesteps}.
 *
 * @param timesteps      the network timestep of each entry (float32 values for Euler, float64 for Heun, ints for DPM)
 * @param sigmas         float32 sigmas, one more than timesteps (the final, usually 0)
 * @param initNoiseSigma scale of the initial noise for text-to-image
 * @param order          model evaluations per step in the schedule layout (Heun: 2, entries repeated)
 */
public record DiscreteSchedule(double[] timesteps, float[] sigmas, float initNoiseSigma, int order) {
    public DiscreteSchedule {
        if (sigmas.length != timesteps.length + 1) {
            throw new IllegalArgumentException(timesteps.length + " timesteps need " + (timesteps.length + 1)
                    + " sigmas, got " + sigmas.length);
        }
        timesteps = timesteps.clone();
        sigmas = sigmas.clone();
    }

    public int length() {
        return timesteps.length;
    }

    /** diffusers' init_noise_sigma: max sigma for linspace/trailing spacing, sqrt(max^2 + 1) for leading. */
    static float initNoiseSigma(float[] sigmas, boolean leading) {
        float max = 0;
        for (float s : sigmas) max = Math.max(max, s);
        return leading ? (float) Math.sqrt(max * max + 1.0f) : max;
    }
}
