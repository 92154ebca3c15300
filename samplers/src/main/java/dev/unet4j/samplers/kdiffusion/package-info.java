/**
 * The sigma-space samplers as diffusers implements them: Euler, Euler ancestral, Heun, LMS, DPM-Solver++ (2M), with
 * Karras sigmas and the other spacing options.
 */
package dev.unet4j.samplers.kdiffusion;
