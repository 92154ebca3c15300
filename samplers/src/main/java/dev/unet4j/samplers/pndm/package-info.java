/**
 * diffusers' PNDMScheduler in its {@code skip_prk_steps} form (pseudo linear multistep, Liu et al. 2022), the
 * scheduler Stable Diffusion 1.x ships.
 */
package dev.unet4j.samplers.pndm;
