/**
 * Quantized checkpoints: codes and scales saved to and loaded from safetensors.
 */
package dev.unet4j.quantization.io;
