package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.BatchNormFolding;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.ZConv;

/**
 * {@code nn.Sequential(Conv2d, BatchNorm2d[, act])} as MK-UNet writes it: children {@code .0}, {@code .1},
 * {@code .2}; each child's output (and the sequence's) can be captured under its module path. It runs as one
 * convolution with the BatchNorm folded in ({@link BatchNormFolding}), prepared by the layer factory at {@code .0}'s
 * path; the unfolded convolution's output {@code .0} is computed only when captured (from the stored float32 weights,
 * also in a quantized model).
 */
final class ConvBn {
    private final String path;
    private final ZConv folded;
    private final Conv2dSpec spec;
    private final Tensor weight, bias; // the stored convolution (bias null: none), for the .0 capture
    private final Act act; // null: none

    ConvBn(Build b, VarBuilder vb, ConvSpec spec, boolean bias, Act act) {
        this(b, vb, spec, bias, act, null);
    }

    /**
     * As above for a convolution whose input arrives with its channels reordered: stored input channel {@code c} is
     * channel {@code inputOrder[c]} of the tensor {@link #forward} gets (a channel shuffle before a 1x1 conv folded into
     * its weights; {@code groups} 1). Null: as stored.
     */
    ConvBn(Build b, VarBuilder vb, ConvSpec spec, boolean bias, Act act, int[] inputOrder) {
        this.path = vb.path();
        this.spec = ZConv.conv2dSpec(spec);
        this.act = act;
        VarBuilder cv = vb.pp(0);
        Tensor w = b.own(reorderInputs(cv.tensor("weight", spec.weightShape()), inputOrder));
        this.weight = w;
        this.bias = bias ? b.own(cv.tensor("bias", spec.outChannels())) : null;
        try (BatchNormFolding.Folded f = BatchNormFolding.fold(w, this.bias, vb.pp(1), 1e-5)) {
            this.folded = ZConv.of(b, cv, spec, f.weight(), f.bias());
        }
    }

    /** {@code w[o, c]} moved to {@code [o, order[c]]} ({@code w} {@code [out, in, kh, kw]}, closed); null order: {@code w}. */
    private static Tensor reorderInputs(Tensor w, int[] order) {
        if (order == null) return w;
        try (w) {
            int out = Math.toIntExact(w.dim(0)), in = Math.toIntExact(w.dim(1)), taps = Math.toIntExact(w.dim(2) * w.dim(3));
            if (order.length != in) throw new IllegalArgumentException("input order of " + order.length + " channels for " + w);
            float[] v = w.toFloatArray(), r = new float[v.length];
            for (int o = 0; o < out; o++) {
                for (int c = 0; c < in; c++) System.arraycopy(v, (o * in + c) * taps, r, (o * in + order[c]) * taps, taps);
            }
            return Tensor.of(r, w.shape());
        }
    }

    static ConvSpec spec(int in, int out, int kernel, int groups) {
        int p = kernel / 2;
        return new ConvSpec(in, out, new int[]{kernel, kernel}, new int[]{1, 1}, new int[]{p, p}, groups, false);
    }

    Tensor forward(Pass p, Tensor x) {
        if (p.captures(path + ".0")) {
            try (Tensor c = p.k.conv2d(p.ws, spec, x, weight, bias, null, 1f)) {
                p.captureIfRequested(path + ".0", c);
            }
        }
        Tensor n = folded.forward(p, x);
        p.captureIfRequested(path + ".1", n);
        if (act != null) {
            n = act.applyAndClose(p, n);
            p.captureIfRequested(path + ".2", n);
        }
        p.captureIfRequested(path, n);
        return n;
    }

    /**
     * {@code seq(x) + residual} for a sequence without activation ({@code residual} borrowed): the sum is the
     * convolution's residual post-op unless an output inside the sequence is to be captured.
     */
    Tensor forwardPlus(Pass p, Tensor x, Tensor residual) {
        if (act != null) throw new IllegalStateException(path + ": the residual sum follows the activation");
        if (!p.captures(path) && !p.captures(path + ".0") && !p.captures(path + ".1")) return folded.forward(p, x, residual);
        try (Tensor n = forward(p, x)) {
            return p.k.add(p.ws, n, residual, 1f, 1f);
        }
    }
}
