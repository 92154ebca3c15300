/**
 * Conditioning (class labels, text embeddings, SDXL's text and time ids) and classifier-free guidance around a
 * {@link dev.unet4j.samplers.guidance.DiffusionModel}.
 */
package dev.unet4j.samplers.guidance;
