package dev.unet4j.zoo.unetpp;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.zoo.nn.Tensors;

import java.util.List;

/**
 * A UNet++ feature node: an encoder stage {@code conv_blocks_context.i} (node {@code x_i_0}; the bottleneck is two
 * stacks {@code .0}, {@code .1}) or a nested node {@code locZ.K} ({@code x_i_j}, j >= 1, two stacks applied to the
 * concatenation of its dense skips and the up-sampled node below).
 */
final class StageNode extends Node {
    private final List<StackedConvLayers> stacks;
    final int i, j;

    StageNode(String path, NodeKind kind, int i, int j, List<StackedConvLayers> stacks) {
        super(path, NodeLevel.BLOCK, kind);
        this.stacks = List.copyOf(stacks);
        this.i = i;
        this.j = j;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return Tensors.sequential(x, stacks, (stage, h) -> stage.forward(p, h));
    }
}
