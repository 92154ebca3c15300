package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.Tensors;

import java.util.ArrayList;
import java.util.List;

/** {@code mk_irb_bottleneck}: {@code encoderK} / {@code decoderK}, a sequence of n multi-kernel blocks ({@code .0} maps in -> out). */
final class BlockStack extends Node {
    private final List<MultiKernelInvertedResidualBlock> blocks = new ArrayList<>();

    BlockStack(Build b, VarBuilder vb, NodeKind kind, int in, int out, int n, MKUNet.Config c) {
        super(vb.path(), NodeLevel.BLOCK, kind);
        for (int i = 0; i < n; i++) {
            blocks.add(new MultiKernelInvertedResidualBlock(b, vb.pp(i), i == 0 ? in : out, out, c.expansionFactor(), c.kernelSizes()));
        }
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return Tensors.sequential(x, blocks, (stage, h) -> stage.forward(p, h));
    }
}
