/**
 * Mixed precision: per-layer sensitivity measured on the model (any model through {@link
 * dev.unet4j.quantization.mixed.ModelOutputProbe}: its outputs as a function of the weight precision), and a knapsack choosing each layer's format under a
 * byte budget; bias correction.
 */
package dev.unet4j.quantization.mixed;
