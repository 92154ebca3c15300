package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/** {@code conv_norm_out}: the output GroupNorm (its node output is before the activation, as in diffusers). */
public final class NormOut extends Node {
    private final GroupNorm norm;

    public NormOut(VarBuilder vb, int groups, int channels, double eps) {
        super(vb.path(), NodeLevel.STEM, NodeKind.CONV_NORM_OUT);
        norm = vb.groupNormHere(groups, channels, eps);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return norm.forward(p, x, false);
    }
}
