package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.ZConv;

/** MK-UNet's spatial attention {@code SA}: {@code sigmoid(conv7x7(cat[mean_c(x), max_c(x)]))}, weights {@code [B, 1, H, W]}. */
final class SpatialAttention extends Node {
    private final ZConv conv;

    SpatialAttention(Build b, VarBuilder vb, int kernel) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.SPATIAL_ATTENTION);
        conv = ZConv.at(b, vb.pp("conv"), ConvBn.spec(2, 1, kernel, 1), false);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        try (Tensor mean = p.k.reduce(p.ws, x, false, 1); Tensor max = p.k.reduce(p.ws, x, true, 1);
             Tensor both = p.k.concat(p.ws, mean, max); Tensor logits = conv.forward(p, both)) {
            return p.k.sigmoid(p.ws, logits);
        }
    }
}
