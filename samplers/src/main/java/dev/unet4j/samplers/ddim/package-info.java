/**
 * diffusers' {@code DDIMScheduler}: DDIM sampling with eta, clipping and thresholding options.
 */
package dev.unet4j.samplers.ddim;
