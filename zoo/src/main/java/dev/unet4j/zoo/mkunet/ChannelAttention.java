package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.ZConv;

/**
 * MK-UNet's channel attention {@code CAk}: {@code sigmoid(fc2(relu(fc1(avgpool(x)))) + fc2(relu(fc1(maxpool(x)))))}
 * with a shared bias-free 1x1 MLP of hidden width {@code C / min(ratio, C)}; the output is the weights {@code [B, C, 1, 1]}.
 */
final class ChannelAttention extends Node {
    private final ZConv fc1, fc2;

    ChannelAttention(Build b, VarBuilder vb, int channels, int ratio) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.SPATIAL_ATTENTION);
        int hidden = channels / Math.min(ratio, channels);
        fc1 = ZConv.at(b, vb.pp("fc1"), ConvBn.spec(channels, hidden, 1, 1), false);
        fc2 = ZConv.at(b, vb.pp("fc2"), ConvBn.spec(hidden, channels, 1, 1), false);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        try (Tensor avg = mlp(p, p.k.reduce(p.ws, x, false, 2, 3)); Tensor max = mlp(p, p.k.reduce(p.ws, x, true, 2, 3));
             Tensor sum = p.k.add(p.ws, avg, max, 1f, 1f)) {
            return p.k.sigmoid(p.ws, sum);
        }
    }

    /** {@code fc2(relu(fc1(pooled)))}, closing {@code pooled}. */
    private Tensor mlp(Pass p, Tensor pooled) {
        Tensor h;
        try {
            h = Act.RELU.applyAndClose(p, fc1.forward(p, pooled));
        } finally {
            pooled.close();
        }
        try {
            return fc2.forward(p, h);
        } finally {
            h.close();
        }
    }
}
