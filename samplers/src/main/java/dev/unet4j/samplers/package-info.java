/**
 * Diffusion samplers with diffusers' semantics and numbers, on heap float32 latents ({@link dev.unet4j.samplers.Latents}).
 *
 * <p>Use: pick a sampler with {@link dev.unet4j.samplers.Samplers#byName} (DDIM, Euler, Euler/Heun/DPM++ with Karras
 * sigmas, Euler ancestral, EDM Euler/Heun) configured from the model's {@code scheduler_config.json}
 * ({@link dev.unet4j.samplers.schedule.SchedulerConfig}); wrap the network as a
 * {@link dev.unet4j.samplers.guidance.DiffusionModel} (for diffusers UNets: the pipeline module's {@code UNetDenoiser})
 * and add conditioning / classifier-free guidance with {@link dev.unet4j.samplers.guidance.Guidance}; run a
 * {@link dev.unet4j.samplers.SamplingRequest} whose {@link dev.unet4j.samplers.NoiseSource} is a seed
 * ({@link dev.unet4j.core.random.TorchGenerator} reproduces {@code torch.randn} bit for bit) or caller-supplied noise.
 *
 * <p>Every model evaluation carries a {@link dev.unet4j.samplers.ModelCall} whose {@code callIndex} counts
 * evaluations (Heun makes two per step): key per-call state on it, never on the timestep.
 */
package dev.unet4j.samplers;
