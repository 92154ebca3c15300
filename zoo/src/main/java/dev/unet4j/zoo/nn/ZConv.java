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
 * {@code bias}). Convolutions go through the model's layer factory like the diffusion UNets' (so int8/fp8
 * quantization reaches them): 2-D ones as {@code conv2d}, volumes as its N-d {@code conv}; transposed convolutions
 * are prepared by the kernels' N-d convolution.
 */
public final class ZConv {
    private final ConvSpec spec;
    private final Conv conv2d;     // 2-D, not transposed
    private final ConvLayer layer; // volumes (from the layer factory) and transposed convolutions

    private ZConv(ConvSpec spec, Conv conv2d, ConvLayer layer) {
        this.spec = spec;
        this.conv2d = conv2d;
        this.layer = layer;
    }

    /** The convolution stored at {@code vb} ({@code vb.path() + ".weight"}). */
    public static ZConv at(Build b, VarBuilder vb, ConvSpec spec, boolean bias) {
        try (Tensor w = vb.tensor("weight", spec.weightShape()); Tensor bt = bias ? vb.tensor("bias", spec.outChannels()) : null) {
            return of(b, vb, spec, w, bt);
        }
    }

    /**
     * The convolution at {@code vb} with weights the caller derived from stored tensors it read through
     * {@link VarBuilder#tensor} ({@link VarBuilder#convFrom}); the caller keeps {@code weight} and {@code bias}.
     */
    public static ZConv of(Build b, VarBuilder vb, ConvSpec spec, Tensor weight, Tensor bias) {
        if (spec.spatialDims() == 2 && !spec.transposed()) return new ZConv(spec, vb.convFrom(conv2dSpec(spec), weight, bias), null);
        if (!spec.transposed()) return new ZConv(spec, null, vb.convLayerFrom(spec, weight, bias, b.kernels));
        return new ZConv(spec, null, b.own(b.kernels.conv(spec, weight, bias)));
    }

    /** A 2-D, not transposed {@code spec} as the 2-D kernels take it. */
    public static Conv2dSpec conv2dSpec(ConvSpec spec) {
        if (spec.spatialDims() != 2 || spec.transposed()) throw new IllegalArgumentException("not a plain 2-D convolution: " + spec);
        int[] k = spec.kernel(), s = spec.stride(), p = spec.padding();
        return new Conv2dSpec(spec.inChannels(), spec.outChannels(), k[0], k[1], s[0], s[1], p[0], p[0], p[1], p[1], 1, 1, spec.groups());
    }

    public ConvSpec spec() {
        return spec;
    }

    /** {@code conv(x) + bias}; {@code x} borrowed, the result owned by the caller. */
    public Tensor forward(Pass p, Tensor x) {
        return forward(p, x, null);
    }

    /**
     * {@code conv(x) + bias + residual} ({@code residual} null: none, else borrowed), the sum fused into 2-D
     * convolutions (the layers' residual post-op).
     */
    public Tensor forward(Pass p, Tensor x, Tensor residual) {
        if (conv2d != null) return conv2d.forward(p, x, residual, 1f);
        p.addMacs(spec.macs(x.shape()));
        Tensor y = layer.forward(p.ws, x);
        if (residual == null) return y;
        try (y) {
            return p.k.add(p.ws, y, residual, 1f, 1f);
        }
    }
}
