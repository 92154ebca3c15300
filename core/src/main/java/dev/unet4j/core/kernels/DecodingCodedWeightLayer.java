package dev.unet4j.core.kernels;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;

/**
 * The portable {@link CodedWeightLayer}: codes on the Java heap, decoded exactly per call as
 * {@code value(code) * scale} into a workspace tensor that the backend's call-time-weight convolution or linear then
 * uses. Backends with a native path ({@code DnnlKernels}) override {@link Kernels#codedWeightConv2d}/
 * {@link Kernels#codedWeightLinear}.
 */
final class DecodingCodedWeightLayer implements CodedWeightLayer {
    /** Runs the backend's float32 kernel with the decoded weight. */
    interface FloatKernel {
        Tensor run(Workspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale);
    }

    private final String layer;
    private final WeightFormat format;
    private final long[] shape;
    private final byte[] codes;
    private final float[] scales;
    private final FloatKernel kernel;

    DecodingCodedWeightLayer(String layer, WeightFormat format, long[] shape, byte[] codes, float[] scales, FloatKernel kernel) {
        CodedWeightLayer.checkWeight(layer, shape, codes, scales);
        this.layer = layer;
        this.format = format;
        this.shape = shape.clone();
        this.codes = codes.clone();
        this.scales = scales.clone();
        this.kernel = kernel;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor bias, Tensor residual, float outputScale, byte[] remap) {
        CodedWeightLayer.checkRemap(layer, remap);
        try (Tensor w = Tensor.allocate(ws.allocator(), shape)) {
            FloatBuffer out = w.rawBuffer();
            int channelLength = codes.length / scales.length;
            float[] row = new float[channelLength];
            float[] values = format == WeightFormat.INT8 ? null : format.codeValues();
            for (int c = 0; c < scales.length; c++) {
                float s = scales[c];
                int base = c * channelLength;
                for (int i = 0; i < channelLength; i++) {
                    byte q = remap == null ? codes[base + i] : remap[codes[base + i] & 0xFF];
                    row[i] = (values == null ? q : values[q & 0xFF]) * s;
                }
                out.put(base, row);
            }
            return kernel.run(ws, x, w, bias, residual, outputScale);
        }
    }

    @Override
    public WeightFormat format() {
        return format;
    }

    @Override
    public byte[] codes() {
        return codes.clone();
    }

    @Override
    public float[] scales() {
        return scales.clone();
    }

    @Override
    public long residentBytes() {
        return codes.length + 4L * scales.length;
    }

    @Override
    public void close() {
    }
}
