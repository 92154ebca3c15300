package dev.unet4j.samplers.pndm;

import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.samplers.schedule.TimestepSpacing;

/**
 * PNDMScheduler settings, diffusers' defaults in {@link #fromConfig}.
 *
 * @param spacing        timestep_spacing (default "leading")
 * @param stepsOffset    steps_offset added to leading timesteps (SD 1.x: 1)
 * @param setAlphaToOne  the step after the last timestep uses alpha_bar = 1 (true) or alphas_cumprod[0] (false)
 */
public record PndmOptions(TimestepSpacing spacing, int stepsOffset, boolean setAlphaToOne) {

    /**
     * Reads a PNDMScheduler (or any other class's) config. Only the {@code skip_prk_steps} variant is implemented:
     * that is what every Stable Diffusion release ships; a config asking for the Runge-Kutta warm-up is refused.
     */
    public static PndmOptions fromConfig(SchedulerConfig cfg) {
        if (cfg.className().equals("PNDMScheduler") && !cfg.bool("skip_prk_steps", false)) {
            throw new IllegalArgumentException(cfg.source() + ": PNDMScheduler with skip_prk_steps false (Runge-Kutta"
                    + " warm-up steps) is not supported; set skip_prk_steps true (as Stable Diffusion ships it)");
        }
        return new PndmOptions(TimestepSpacing.fromConfig(cfg.string("timestep_spacing", "leading"), cfg.source()),
                cfg.integer("steps_offset", 0), cfg.bool("set_alpha_to_one", false));
    }
}
