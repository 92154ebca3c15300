package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * diffusers {@code Downsample2D(use_conv=True)}: a stride-2 3x3 conv ({@code conv}). {@code padding=0} (DDPM) pads
 * right and bottom by one instead of symmetric padding (fixtures note 5).
 */
public final class Downsample2D extends Node {
    private final Conv conv;

    public Downsample2D(VarBuilder vb, int channels, int padding) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.DOWNSAMPLER);
        Conv2dSpec spec = padding == 0
                ? new Conv2dSpec(channels, channels, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1)
                : Conv2dSpec.of(channels, channels, 3, 2, padding);
        conv = vb.conv("conv", spec, true);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return conv.forward(p, x);                   // [B, C, ceil-ish(H/2), W/2]
    }
}
