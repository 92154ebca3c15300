/**
 * Mixed precision: per-layer sensitivity measured on the model, and a knapsack choosing each layer's format under a
 * byte budget; bias correction.
 */
package dev.unet4j.quantization.mixed;
