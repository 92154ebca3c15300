package dev.unet4j.samplers;

/** One scheduler step's outputs: the next latents and the step's denoised prediction. */
public record StepResult(Latents prevSample, Latents predOriginalSample) {
}
