/**
 * Quantized UNet layers and the factories that build a quantized UNet from a
 * {@link dev.unet4j.quantization.nn.QuantizationPlan}: int8 and FP8 weights, double rounding, int8 activations.
 */
package dev.unet4j.quantization.nn;
