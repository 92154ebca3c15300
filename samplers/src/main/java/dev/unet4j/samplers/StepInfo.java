package dev.unet4j.samplers;

/**
 * Progress of a sampling run, reported after every step.
 *
 * @param stepIndex     the step just completed (0-based among executed steps)
 * @param totalSteps    number of steps this run executes
 * @param callIndex     index of the last model evaluation of this step
 * @param timestep      the step's timestep (its first evaluation's)
 * @param sigma         the step's noise level
 * @param latents       the latents after the step (do not modify)
 * @param predictedX0   the denoised prediction of the step's last evaluation (do not modify)
 */
public record StepInfo(int stepIndex, int totalSteps, int callIndex, double timestep, double sigma, Latents latents,
                       Latents predictedX0) {
}
