package dev.unet4j.zoo.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Conv;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * torch's {@code nn.Conv2d/3d} and {@code nn.ConvTranspose2d/3d} under one checkpoint path ({@code weight},
 * {@code bias}). Plain 2-D convolutions go through the model's layer factory like the diffusion UNets' (so int8/fp8
 * quantization reaches them); volumes and transposed convolutions are prepared by the kernels' N-d convolution.
 */
public final class ZConv {
    private final ConvSpec spec;
    private final Conv conv2d;     // 2-D, not transposed
    private final ConvLayer layer; // everything else

    private ZConv(ConvSpec spec, Conv conv2d, ConvLayer layer) {
        this.spec = spec;
        this.conv2d = conv2d;
        this.layer = layer;
    }

    /** The convolution stored at {@code vb} ({@code vb.path() + ".weight"}). */
    public static ZConv at(Build b, VarBuilder vb, ConvSpec spec, boolean bias) {
        if (spec.spatialDims() == 2 && !spec.transposed()) {
            int[] k = spec.kernel(), s = spec.stride(), p = spec.padding();
            Conv2dSpec c = new Conv2dSpec(spec.inChannels(), spec.outChannels(), k[0], k[1], s[0], s[1], p[0], p[0], p[1], p[1], 1, 1, spec.groups());
            return new ZConv(spec, vb.convHere(c, bias), null);
        }
        try (Tensor w = vb.tensor("weight", spec.weightShape()); Tensor bt = bias ? vb.tensor("bias", spec.outChannels()) : null) {
            return new ZConv(spec, null, b.own(b.kernels.conv(spec, w, bt)));
        }
    }

    public ConvSpec spec() {
        return spec;
    }

    /** {@code conv(x) + bias}; {@code x} borrowed, the result owned by the caller. */
    public Tensor forward(Pass p, Tensor x) {
        if (conv2d != null) return conv2d.forward(p, x);
        p.addMacs(spec.macs(x.shape()));
        return layer.forward(p.ws, x);
    }
}
