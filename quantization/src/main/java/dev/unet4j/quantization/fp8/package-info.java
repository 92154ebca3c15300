/**
 * The FP8 formats (E4M3FN, E5M2) and what to do with values beyond their range.
 */
package dev.unet4j.quantization.fp8;
