package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.samplers.schedule.TimestepSpacing;

/**
 * How Euler-family schedulers place their sigmas (diffusers config fields; defaults of EulerDiscreteScheduler).
 *
 * @param useKarrasSigmas   Karras rho=7 spacing between the spaced schedule's extreme sigmas
 * @param finalSigmaMin     {@code final_sigmas_type == "sigma_min"}: end at the smallest training sigma, not 0
 * @param continuousTimesteps {@code timestep_type == "continuous"} with v-prediction: timesteps = 0.25 ln(sigma)
 * @param sigmaMin          overrides the Karras sigma_min (config {@code sigma_min}), or null
 * @param sigmaMax          overrides the Karras sigma_max, or null
 * @param customTimesteps   explicit descending timesteps, or null
 * @param customSigmas      explicit sigmas including the final one, or null
 */
public record SigmaOptions(TimestepSpacing spacing, int stepsOffset, boolean useKarrasSigmas, boolean finalSigmaMin,
                           boolean continuousTimesteps, Double sigmaMin, Double sigmaMax, float[] customTimesteps,
                           double[] customSigmas) {
    public SigmaOptions {
        if (customTimesteps != null && customSigmas != null) throw new IllegalArgumentException("give custom timesteps or sigmas, not both");
        if (customTimesteps != null && useKarrasSigmas) throw new IllegalArgumentException("custom timesteps cannot be used with Karras sigmas");
        if (customSigmas != null && customSigmas.length < 2) throw new IllegalArgumentException("custom sigmas need at least 2 values (incl. the final one)");
        customTimesteps = customTimesteps == null ? null : customTimesteps.clone();
        customSigmas = customSigmas == null ? null : customSigmas.clone();
    }

    /** Reads the Euler/Heun/EulerAncestral fields with diffusers' defaults (linspace spacing, no Karras). */
    public static SigmaOptions fromConfig(SchedulerConfig cfg) {
        String interp = cfg.string("interpolation_type", "linear");
        if (!interp.equals("linear")) {
            throw new IllegalArgumentException(cfg.source() + ": interpolation_type '" + interp + "' is not supported (only linear)");
        }
        if (cfg.bool("use_exponential_sigmas", false) || cfg.bool("use_beta_sigmas", false)) {
            throw new IllegalArgumentException(cfg.source() + ": exponential/beta sigmas are not supported");
        }
        String fin = cfg.string("final_sigmas_type", "zero");
        if (!fin.equals("zero") && !fin.equals("sigma_min")) {
            throw new IllegalArgumentException(cfg.source() + ": final_sigmas_type must be zero or sigma_min, got " + fin);
        }
        return new SigmaOptions(TimestepSpacing.fromConfig(cfg.string("timestep_spacing", "linspace"), cfg.source()),
                cfg.integer("steps_offset", 0), cfg.bool("use_karras_sigmas", false), fin.equals("sigma_min"),
                cfg.string("timestep_type", "discrete").equals("continuous"), cfg.numberOrNull("sigma_min"),
                cfg.numberOrNull("sigma_max"), null, null);
    }

    public SigmaOptions withKarras(boolean karras) {
        return new SigmaOptions(spacing, stepsOffset, karras, finalSigmaMin, continuousTimesteps, sigmaMin, sigmaMax,
                customTimesteps, customSigmas);
    }

    /** The same with the schedule ending at sigma 0 (schedulers without final_sigmas_type, e.g. LMS). */
    public SigmaOptions withFinalSigmaZero() {
        return new SigmaOptions(spacing, stepsOffset, useKarrasSigmas, false, continuousTimesteps, sigmaMin, sigmaMax,
                customTimesteps, customSigmas);
    }

    public SigmaOptions withCustomSigmas(double... sigmas) {
        return new SigmaOptions(spacing, stepsOffset, false, finalSigmaMin, continuousTimesteps, sigmaMin, sigmaMax, null, sigmas);
    }

    public SigmaOptions withCustomTimesteps(float... timesteps) {
        return new SigmaOptions(spacing, stepsOffset, false, finalSigmaMin, continuousTimesteps, sigmaMin, sigmaMax, timesteps, null);
    }
}
