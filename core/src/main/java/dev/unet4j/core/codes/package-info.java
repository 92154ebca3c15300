/**
 * 8-bit codes, one home: {@link dev.unet4j.core.codes.Fp8Format} encodes and decodes the two OCP FP8 formats (the
 * safetensors loader, the quantizer and the kernels all decode through it), and
 * {@link dev.unet4j.core.codes.WeightFormat} names how a coded weight's bytes stand for numbers (INT8, FP8 E4M3,
 * FP8 E5M2), for the quantizer that writes the codes and the backend layers that run them.
 */
package dev.unet4j.core.codes;
