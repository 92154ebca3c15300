/**
 * JMH benchmarks and the table printers behind docs/benchmarks.md and the other measurement pages: kernels against
 * OpenBLAS sgemm ({@link dev.unet4j.bench.KernelTable}), UNet forwards ({@link dev.unet4j.bench.UNetForwardTable}),
 * caching, quantization, LoRA switching and memory; {@link dev.unet4j.bench.OrtSideBySide} compares with ONNX Runtime.
 */
package dev.unet4j.bench;
