package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.Norm;
import dev.unet4j.zoo.nn.ZConv;

/**
 * {@code nn.Sequential(Conv2d, BatchNorm2d[, act])} as MK-UNet writes it: children {@code .0}, {@code .1},
 * {@code .2}; each child's output (and the sequence's) can be captured under its module path.
 */
final class ConvBn {
    private final String path;
    private final ZConv conv;
    private final Norm bn;
    private final Act act; // null: none

    ConvBn(Build b, VarBuilder vb, ConvSpec spec, boolean bias, Act act) {
        this.path = vb.path();
        this.conv = ZConv.at(b, vb.pp(0), spec, bias);
        this.bn = Norm.at(vb.pp(1), Norm.Kind.BATCH, spec.outChannels(), 1e-5, true);
        this.act = act;
    }

    static ConvSpec spec(int in, int out, int kernel, int groups) {
        int p = kernel / 2;
        return new ConvSpec(in, out, new int[]{kernel, kernel}, new int[]{1, 1}, new int[]{p, p}, groups, false);
    }

    Tensor forward(Pass p, Tensor x) {
        Tensor c = conv.forward(p, x);
        p.captureIfRequested(path + ".0", c);
        Tensor n;
        try {
            n = bn.forward(p, c);
        } finally {
            c.close();
        }
        p.captureIfRequested(path + ".1", n);
        if (act != null) {
            n = act.applyAndClose(p, n);
            p.captureIfRequested(path + ".2", n);
        }
        p.captureIfRequested(path, n);
        return n;
    }
}
