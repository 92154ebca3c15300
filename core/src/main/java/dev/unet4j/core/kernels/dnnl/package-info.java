/**
 * The production {@link dev.unet4j.core.kernels.Kernels} on oneDNN ({@link dev.unet4j.core.kernels.dnnl.DnnlKernels}):
 * cached primitives, channels-last convolutions, chunked attention, int8/FP8 weight layers, the CPU's ISA
 * ({@link dev.unet4j.core.kernels.dnnl.CpuFeatures}) and the OpenMP thread count
 * ({@link dev.unet4j.core.kernels.dnnl.IntraOpThreads}).
 */
package dev.unet4j.core.kernels.dnnl;
