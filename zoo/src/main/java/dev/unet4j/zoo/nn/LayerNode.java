package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;

import java.util.function.BiFunction;

/** A named graph node whose math is one function of its input (a head convolution, an up-sampling convolution, ...). */
public final class LayerNode extends Node {
    private final BiFunction<Pass, Tensor, Tensor> body;

    public LayerNode(String path, NodeLevel level, NodeKind kind, BiFunction<Pass, Tensor, Tensor> body) {
        super(path, level, kind);
        this.body = body;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return body.apply(p, x);
    }
}
