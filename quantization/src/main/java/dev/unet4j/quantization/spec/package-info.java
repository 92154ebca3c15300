/** {@link dev.unet4j.quantization.spec.QuantSpec}: quantization schemes by name, and loading a model with one. */
package dev.unet4j.quantization.spec;
