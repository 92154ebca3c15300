/**
 * Activation quantization: calibration of activation ranges over sample generations, static scales, and the
 * dynamic per-call quantizer.
 */
package dev.unet4j.quantization.activation;
