package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * diffusers {@code Upsample2D(use_conv=True)}: nearest-neighbour interpolation (2x, or to the size the UNet forwards
 * for odd inputs, {@link Pass#upsampleSize}), then a 3x3 conv ({@code conv}); or, built {@code subpixel}, the same
 * function as four 2x2 phase convs on the input ({@link SubpixelConv}: 4/9 of the MACs), for models whose upsampling
 * is always exactly 2x (a VAE decoder; a UNet keeps the 3x3 conv for the odd sizes it forwards).
 */
public final class Upsample2D extends Node {
    private final Conv conv;
    private final SubpixelConv subpixel;

    public Upsample2D(VarBuilder vb, int channels) {
        this(vb, channels, false);
    }

    public Upsample2D(VarBuilder vb, int channels, boolean subpixel) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.UPSAMPLER);
        Conv2dSpec spec = Conv2dSpec.of(channels, channels, 3, 1, 1);
        this.subpixel = subpixel ? vb.subpixelConv("conv", spec) : null;
        this.conv = this.subpixel != null ? null : vb.conv("conv", spec, true);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        int h = p.upsampleSize == null ? (int) x.dim(2) * 2 : p.upsampleSize[0];
        int w = p.upsampleSize == null ? (int) x.dim(3) * 2 : p.upsampleSize[1];
        if (subpixel != null) {
            if (h != 2 * x.dim(2) || w != 2 * x.dim(3)) {
                throw new IllegalArgumentException(path + ": a sub-pixel upsampler computes exactly 2x, asked " + x + " -> " + h + "x" + w);
            }
            return subpixel.forward(p, x);                                // [B, C, 2H, 2W]
        }
        try (Tensor up = p.k.upsampleNearest(p.ws, x, h, w)) {   // [B, C, h, w]
            return conv.forward(p, up);
        }
    }
}
