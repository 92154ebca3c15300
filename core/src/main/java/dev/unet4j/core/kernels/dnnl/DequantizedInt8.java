package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.javacpp.BytePointer;

/**
 * int8 layers on CPUs without 8-bit dot-product instructions (AVX2, AVX-512 without VNNI): oneDNN's s8 x s8 kernels
 * there add pairs of u8·s8 products in saturating 16-bit lanes, so results drift from the integer sums (measured on
 * AVX2: 1e-2 relative on a conv, 0.16 on a linear). The same quantized operands are then multiplied in float32
 * instead — the numbers int8 compute stands for, not its speed. {@link CpuFeatures#hasInt8DotProduct()} decides.
 */
final class DequantizedInt8 {
    private DequantizedInt8() {
    }

    /** Float weights {@code q * scale[o]}, where {@code o = index / perChannel} (row-major, output channel first). */
    static Tensor weights(byte[] q, float[] scales, long[] shape) {
        float[] w = new float[q.length];
        int perChannel = q.length / scales.length;
        for (int i = 0; i < q.length; i++) w[i] = q[i] * scales[i / perChannel];
        return Tensor.of(w, shape);
    }

    /**
     * The s8 activations at {@code address} (laid out with {@code strides}, logical {@code shape}) times their scale,
     * as a dense row-major float tensor from {@code allocator}.
     */
    static Tensor activations(Allocator allocator, long address, long[] shape, long[] strides, float scale) {
        long n = Tensor.numel(shape);
        long span = 1;
        for (int d = 0; d < shape.length; d++) span += (shape[d] - 1) * strides[d];
        byte[] q = new byte[Math.toIntExact(span)];
        new BytePointer(Dnnl.at(address)).capacity(span).get(q);
        float[] x = new float[Math.toIntExact(n)];
        int rank = shape.length;
        long[] idx = new long[rank];
        long offset = 0;
        for (int i = 0; i < x.length; i++) {
            x[i] = q[(int) offset] * scale;
            for (int d = rank - 1; d >= 0; d--) {        // odometer over the logical index, offset kept in step
                if (++idx[d] < shape[d]) {
                    offset += strides[d];
                    break;
                }
                offset -= (shape[d] - 1) * strides[d];
                idx[d] = 0;
            }
        }
        Tensor t = Tensor.allocate(allocator, shape);
        t.setFrom(x);
        return t;
    }
}
