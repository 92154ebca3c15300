package dev.unet4j.samplers;

/**
 * What one model evaluation is for. {@code callIndex} counts every evaluation of the sampling run from 0 (Heun
 * evaluates twice per step), so downstream code (caches, replay, logging) must key on it, never on the timestep:
 * timesteps can repeat and be fractional.
 *
 * @param stepIndex index of the sampler step this evaluation belongs to (0-based, relative to the executed steps)
 * @param callIndex index of this evaluation among all evaluations of the run
 * @param timestep  the timestep fed to the network (diffusers' {@code t}; fractional for Karras schedules, and
 *                  EDM's c_noise for EDM-preconditioned networks)
 * @param sigma     the noise level of the (unscaled) sample, sqrt((1 - alpha_bar) / alpha_bar) for VP schedules
 */
public record ModelCall(int stepIndex, int callIndex, double timestep, double sigma) {
}
