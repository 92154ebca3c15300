/**
 * {@link dev.unet4j.core.tensor.Tensor}: float32 in native memory, strided (NCHW or NHWC storage), owned and freed
 * ({@code AutoCloseable}); allocators, including a pooling one for per-generation reuse.
 */
package dev.unet4j.core.tensor;
