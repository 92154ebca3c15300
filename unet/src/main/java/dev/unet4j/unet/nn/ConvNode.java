package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/** {@code conv_in} / {@code conv_out}: a plain convolution as a stem node. */
public final class ConvNode extends Node {
    private final Conv conv;

    public ConvNode(VarBuilder vb, NodeKind kind, Conv2dSpec spec) {
        super(vb.path(), NodeLevel.STEM, kind);
        conv = vb.convHere(spec, true);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return conv.forward(p, x);
    }
}
