package dev.unet4j.samplers;

/**
 * Edits a sampler's running latents at the start of every step, before the step's first model evaluation: how a
 * method that changes the sampler's state, not only the network's output, plugs in (e.g. Faster Diffusion's
 * prior-noise injection, {@code latents += 0.003 x_T}). Set on the {@link SamplingRequest}; every sampler applies it
 * through {@link SamplingRun#beginStep}, and a request without one costs nothing.
 *
 * <p>What is edited is the state the sampler carries from step to step, in the sampler's own space, so an edit
 * persists: DDIM's and DPM-Solver's x_t, the Euler/Heun samplers' x (before their input scaling, which then applies
 * to the edited latents), EDM's x (a float32 view of its float64 state; the edit is added back to the float64
 * state as a difference). A step starts once, so Heun's corrector evaluation is not a step start: its input is the
 * step's Euler predictor, derived from the edited latents.
 */
@FunctionalInterface
public interface LatentHook {
    /**
     * @param step which step starts, with the run's initial latents
     * @param x    the latents the step starts from; do not modify them (the previous step's callback may hold them)
     * @return {@code x} itself to leave the step unchanged, or new latents of the same shape to start it from
     */
    Latents beforeStep(StepStart step, Latents x);
}
