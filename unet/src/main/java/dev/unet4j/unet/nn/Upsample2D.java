package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * diffusers {@code Upsample2D(use_conv=True)}: nearest-neighbour interpolation (2x, or to the size the UNet forwards
 * for odd inputs, {@link Pass#upsampleSize}), then a 3x3 conv ({@code conv}).
 */
public final class Upsample2D extends Node {
    private final Conv conv;

    public Upsample2D(VarBuilder vb, int channels) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.UPSAMPLER);
        conv = vb.conv("conv", Conv2dSpec.of(channels, channels, 3, 1, 1), true);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        int h = p.upsampleSize == null ? (int) x.dim(2) * 2 : p.upsampleSize[0];
        int w = p.upsampleSize == null ? (int) x.dim(3) * 2 : p.upsampleSize[1];
        try (Tensor up = p.k.upsampleNearest(p.ws, x, h, w)) {   // [B, C, h, w]
            return conv.forward(p, up);
        }
    }
}
