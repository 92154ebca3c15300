package dev.unet4j.zoo.ddos;

import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.Norm;
import dev.unet4j.zoo.nn.ZConv;

/**
 * {@code UNetConvBlock}: {@code Conv3d(k3, padding=int(padding)) -> ReLU [-> BatchNorm3d]}, twice, as
 * {@code block.0, block.1[, block.2], ...} (the norm comes after the activation, as in the official code).
 */
final class UNetConvBlock extends Node {
    private final ZConv conv1, conv2;
    private final Norm norm1, norm2; // null without batch_norm

    UNetConvBlock(Build b, VarBuilder vb, NodeKind kind, int in, int out, boolean padding, boolean batchNorm) {
        super(vb.path(), dev.unet4j.unet.NodeLevel.BLOCK, kind);
        VarBuilder block = vb.pp("block");
        int pad = padding ? 1 : 0, second = batchNorm ? 3 : 2;
        conv1 = ZConv.at(b, block.pp(0), ConvSpec.of(3, in, out, 3, 1, pad), true);
        norm1 = batchNorm ? Norm.at(block.pp(2), Norm.Kind.BATCH, out, 1e-5, true) : null;
        conv2 = ZConv.at(b, block.pp(second), ConvSpec.of(3, out, out, 3, 1, pad), true);
        norm2 = batchNorm ? Norm.at(block.pp(second + 2), Norm.Kind.BATCH, out, 1e-5, true) : null;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Tensor h = half(p, conv1, norm1, x);
        try {
            return half(p, conv2, norm2, h);
        } finally {
            h.close();
        }
    }

    private static Tensor half(Pass p, ZConv conv, Norm norm, Tensor x) {
        Tensor a = Act.RELU.applyAndClose(p, conv.forward(p, x));
        if (norm == null) return a;
        try {
            return norm.forward(p, a);
        } finally {
            a.close();
        }
    }
}
