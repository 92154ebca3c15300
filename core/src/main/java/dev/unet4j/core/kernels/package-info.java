/**
 * The compute seam: {@link dev.unet4j.core.kernels.Kernels} (operations and prepared layers on
 * {@link dev.unet4j.core.tensor.Tensor}s, per-thread {@link dev.unet4j.core.kernels.Workspace}s) and
 * {@link dev.unet4j.core.kernels.ReferenceKernels}, the plain-Java implementation the tests take as truth.
 */
package dev.unet4j.core.kernels;
