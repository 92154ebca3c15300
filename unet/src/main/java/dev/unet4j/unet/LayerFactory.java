package dev.unet4j.unet;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.tensor.Tensor;

/**
 * Turns each checkpoint weight into a prepared layer while a model is built. The default prepares float32 layers on
 * the model's {@link Kernels}; quantization plugs in here (keeping int8/fp8 weights and decoding them per call).
 * Called once per layer with the diffusers module path ({@code down_blocks.0.resnets.1.conv1}); the weight and bias
 * are closed by the builder after the call, so keep copies, not references.
 */
public interface LayerFactory {

    /** {@code weight} {@code [out, in/groups, kh, kw]}, {@code bias} {@code [out]} or null. */
    Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias);

    /** {@code weight} {@code [out, in]}, {@code bias} {@code [out]} or null. */
    Linear linear(String path, Tensor weight, Tensor bias);

    /**
     * An N-d convolution ({@link ConvSpec}, e.g. a volume's {@code Conv3d}; not transposed) at {@code path}:
     * {@code weight} {@code spec.weightShape()}, {@code bias} {@code [out]} or null. The default prepares it in float32
     * on {@code kernels} (the model's); a quantizing factory keeps 8-bit codes here as for {@link #conv2d}.
     */
    default ConvLayer conv(String path, ConvSpec spec, Tensor weight, Tensor bias, Kernels kernels) {
        return kernels.conv(spec, weight, bias);
    }

    /**
     * Whether a model may prepare a nearest-2x upsampler's conv as its four sub-pixel phase convs (an exact rewrite,
     * 4/9 of the MACs) where its upsampling is always exactly 2x. True by default; false keeps the published op
     * sequence, e.g. for a graph recorded for another runtime.
     */
    default boolean subpixelUpsamplers() {
        return true;
    }

    /** Plain float32 layers prepared by {@code kernels}. */
    static LayerFactory of(Kernels kernels) {
        return new LayerFactory() {
            @Override
            public Conv2d conv2d(String path, Conv2dSpec spec, Tensor weight, Tensor bias) {
                return kernels.conv2d(spec, weight, bias);
            }

            @Override
            public Linear linear(String path, Tensor weight, Tensor bias) {
                return kernels.linear(weight, bias);
            }
        };
    }
}
