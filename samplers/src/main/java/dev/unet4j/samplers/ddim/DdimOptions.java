package dev.unet4j.samplers.ddim;

import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.samplers.schedule.TimestepSpacing;

/**
 * DDIMScheduler settings (diffusers defaults in {@link #fromConfig}) plus the per-call step arguments.
 *
 * @param eta                     0 = deterministic DDIM, 1 = DDPM-like variance; noise comes from the request
 * @param useClippedModelOutput   re-derive epsilon from the clipped x0 (diffusers' use_clipped_model_output)
 * @param prevTimestepRule        how the previous timestep of a step is chosen
 * @param customTimesteps         explicit descending timesteps replacing the spaced ones, or null
 */
public record DdimOptions(TimestepSpacing spacing, int stepsOffset, boolean setAlphaToOne, boolean clipSample,
                          double clipSampleRange, boolean thresholding, double dynamicThresholdingRatio,
                          double sampleMaxValue, double eta, boolean useClippedModelOutput,
                          PrevTimestepRule prevTimestepRule, long[] customTimesteps) {

    /**
     * diffusers computes the previous timestep as {@code t - T // n} for every spacing, which for "trailing"
     * spacing (999, 899, ..., 99) and for custom timesteps is not the next scheduled timestep.
     */
    public enum PrevTimestepRule {
        /** {@code t - num_train_timesteps // num_inference_steps}, as diffusers (the default). */
        DIFFUSERS,
        /** The next timestep of the schedule, and the final alpha after the last one (the DDIM paper's rule). */
        NEXT_SCHEDULED
    }

    public DdimOptions {
        if (!(eta >= 0 && eta <= 1)) throw new IllegalArgumentException("eta must be in [0, 1], got " + eta);
        if (clipSampleRange <= 0) throw new IllegalArgumentException("clip_sample_range must be > 0");
        customTimesteps = customTimesteps == null ? null : customTimesteps.clone();
    }

    public static DdimOptions fromConfig(SchedulerConfig cfg) {
        return new DdimOptions(TimestepSpacing.fromConfig(cfg.string("timestep_spacing", "leading"), cfg.source()),
                cfg.integer("steps_offset", 0), cfg.bool("set_alpha_to_one", true), cfg.bool("clip_sample", true),
                cfg.number("clip_sample_range", 1.0), cfg.bool("thresholding", false),
                cfg.number("dynamic_thresholding_ratio", 0.995), cfg.number("sample_max_value", 1.0), 0.0, false,
                PrevTimestepRule.DIFFUSERS, null);
    }

    public DdimOptions withEta(double newEta) {
        return new DdimOptions(spacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, thresholding,
                dynamicThresholdingRatio, sampleMaxValue, newEta, useClippedModelOutput, prevTimestepRule, customTimesteps);
    }

    public DdimOptions withPrevTimestepRule(PrevTimestepRule rule) {
        return new DdimOptions(spacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, thresholding,
                dynamicThresholdingRatio, sampleMaxValue, eta, useClippedModelOutput, rule, customTimesteps);
    }

    public DdimOptions withCustomTimesteps(long... timesteps) {
        return new DdimOptions(spacing, stepsOffset, setAlphaToOne, clipSample, clipSampleRange, thresholding,
                dynamicThresholdingRatio, sampleMaxValue, eta, useClippedModelOutput, prevTimestepRule, timesteps);
    }
}
