package dev.unet4j.samplers;

/**
 * A sampler step about to start, as a {@link LatentHook} sees it.
 *
 * @param stepIndex the step (0-based among executed steps, as {@link StepInfo#stepIndex()})
 * @param callIndex the call index the step's first model evaluation will get ({@link ModelCall#callIndex()})
 * @param timestep  the timestep of that evaluation (diffusers' {@code t}; fractional for Karras schedules, EDM's
 *                  c_noise for EDM-preconditioned networks)
 * @param sigma     the noise level of that evaluation
 * @param initial   the latents the run started from, before any hook ran: diffusers' {@code latents} after
 *                  {@code prepare_latents} (text-to-image: the noise times the scheduler's init_noise_sigma, so
 *                  DDIM's and DPM-Solver's x_T is the noise itself, the Euler/Heun samplers' is noise * sigma_max
 *                  or noise * (sigma_max^2 + 1)^0.5 per their spacing, EDM's noise * sigma_max; img2img: the noised
 *                  init image). Do not modify.
 */
public record StepStart(int stepIndex, int callIndex, double timestep, double sigma, Latents initial) {
}
