package dev.unet4j.zoo.unetpp;

import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.Norm;
import dev.unet4j.zoo.nn.ZConv;

/**
 * nnU-Net's basic block {@code conv -> [dropout] -> instnorm -> lrelu} ({@code ConvDropoutNormNonlin}), or with
 * the nonlinearity before the norm ({@code ConvDropoutNonlinNorm}). Dropout is the identity at inference.
 * Checkpoint names: {@code conv}, {@code instnorm} (whatever the norm class), no parameters for the nonlinearity.
 */
final class ConvDropoutNormNonlin {
    private final ZConv conv;
    private final Norm norm;
    private final Act act;
    private final boolean nonlinFirst;

    ConvDropoutNormNonlin(Build b, VarBuilder vb, GenericUNetPlusPlus.Config c, int in, int out, int[] kernel, int[] stride) {
        int[] pad = new int[kernel.length];
        for (int i = 0; i < kernel.length; i++) pad[i] = kernel[i] == 3 ? 1 : 0; // nnU-Net's conv_pad_sizes rule
        this.conv = ZConv.at(b, vb.pp("conv"), new ConvSpec(in, out, kernel, stride, pad, 1, false), true);
        this.norm = Norm.at(vb.pp("instnorm"), c.normKind(), out, c.normEps(), c.normAffine());
        this.act = c.nonlin();
        this.nonlinFirst = c.nonlinBeforeNorm();
    }

    Tensor forward(Pass p, Tensor x) {
        Tensor h = conv.forward(p, x);
        if (nonlinFirst) {
            Tensor a = act.applyAndClose(p, h);
            try {
                return norm.forward(p, a);
            } finally {
                a.close();
            }
        }
        try {
            Tensor n = norm.forward(p, h);
            return act.applyAndClose(p, n);
        } finally {
            h.close();
        }
    }
}
