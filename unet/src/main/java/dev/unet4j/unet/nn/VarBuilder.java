package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Tensor;

/**
 * Key-prefix helper: {@code vb.pp("down_blocks").pp(1).pp("resnets").pp(0)} names the module
 * {@code down_blocks.1.resnets.0}, so the object tree mirrors diffusers' state-dict keys. A builder made by
 * {@link #ppAlias} also accepts a legacy name for its module (old attention blocks' {@code query} for {@code to_q}).
 */
public final class VarBuilder {
    private final Weights weights;
    private final String prefix;       // "" or "a.b."
    private final String legacyPrefix; // null when the module has no legacy name

    VarBuilder(Weights weights, String prefix, String legacyPrefix) {
        this.weights = weights;
        this.prefix = prefix;
        this.legacyPrefix = legacyPrefix;
    }

    public VarBuilder pp(String name) {
        return new VarBuilder(weights, prefix + name + ".", legacyPrefix == null ? null : legacyPrefix + name + ".");
    }

    public VarBuilder pp(int index) {
        return pp(Integer.toString(index));
    }

    /** Child module {@code name}, whose tensors may also be stored under {@code legacyName}. */
    public VarBuilder ppAlias(String name, String legacyName) {
        return new VarBuilder(weights, prefix + name + ".", prefix + legacyName + ".");
    }

    /** This module's path ({@code down_blocks.1.resnets.0}). */
    public String path() {
        return prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
    }

    /** Path of child {@code name}. */
    public String path(String name) {
        return prefix + name;
    }

    /** The parameter {@code name} of this module with its expected shape; owned by the caller. */
    public Tensor tensor(String name, long... shape) {
        return weights.load(prefix + name, legacyPrefix == null ? null : legacyPrefix + name, shape);
    }

    /** A parameter kept by the model for its lifetime (norm gammas, embedding tables). */
    public Tensor kept(String name, long... shape) {
        return weights.own(tensor(name, shape));
    }

    /** Child conv {@code name} ({@code name.weight}, {@code name.bias}) prepared by the layer factory. */
    public Conv conv(String name, Conv2dSpec spec, boolean bias) {
        return pp(name).convHere(spec, bias);
    }

    /** This module itself is a convolution. */
    public Conv convHere(Conv2dSpec spec, boolean bias) {
        try (Tensor w = tensor("weight", spec.weightShape());
             Tensor b = bias ? tensor("bias", spec.outChannels()) : null) {
            return convFrom(spec, w, b);
        }
    }

    /**
     * Child conv {@code name} (3x3, padding 1) that follows a nearest 2x upsampling, prepared as its four sub-pixel
     * phases ({@link SubpixelConv}) by the layer factory under the child's path; null where the factory keeps the
     * published ops ({@link dev.unet4j.unet.LayerFactory#subpixelUpsamplers}).
     */
    SubpixelConv subpixelConv(String name, Conv2dSpec spec) {
        if (!weights.factory.subpixelUpsamplers()) return null;
        VarBuilder c = pp(name);
        try (Tensor w = c.tensor("weight", spec.weightShape()); Tensor b = c.tensor("bias", spec.outChannels())) {
            return weights.own(new SubpixelConv(c.path(), spec, w, b, weights.factory));
        }
    }

    /**
     * This module is a convolution whose {@code weight} and {@code bias} (or null) the caller derived from stored
     * tensors it read through {@link #tensor} (e.g. with a following eval-mode BatchNorm folded in); prepared by the
     * layer factory under this module's path, so quantization reaches it as any other. The caller keeps its tensors.
     */
    public Conv convFrom(Conv2dSpec spec, Tensor weight, Tensor bias) {
        return new Conv(path(), weights.own(weights.factory.conv2d(path(), spec, weight, bias)), spec);
    }

    /**
     * The N-d counterpart of {@link #convFrom} ({@link ConvSpec}, not transposed: volumes): prepared by the layer
     * factory under this module's path (float32 on {@code kernels} unless the factory quantizes it), kept by the
     * model. The caller keeps its tensors.
     */
    public ConvLayer convLayerFrom(ConvSpec spec, Tensor weight, Tensor bias, Kernels kernels) {
        if (spec.transposed()) throw new IllegalArgumentException(path() + ": " + spec + " is transposed; the layer factory takes convolutions only");
        return weights.own(weights.factory.conv(path(), spec, weight, bias, kernels));
    }

    /** Child linear {@code name}: {@code [out, in]} weight. */
    public Dense linear(String name, int in, int out, boolean bias) {
        return linear(name, in, out, bias, null);
    }

    /** Child linear {@code name}, read through {@code aliased} (a {@link #ppAlias} builder) when not null. */
    public Dense linear(String name, int in, int out, boolean bias, VarBuilder aliased) {
        return (aliased != null ? aliased : pp(name)).linearHere(in, out, bias);
    }

    /** This module itself is a linear layer ({@code weight}, {@code bias} directly under the prefix). */
    public Dense linearHere(int in, int out, boolean bias) {
        VarBuilder c = this;
        try (Tensor w = c.tensor("weight", out, in);
             Tensor b = bias ? c.tensor("bias", out) : null) {
            return new Dense(c.path(), weights.own(weights.factory.linear(c.path(), w, b)));
        }
    }

    public GroupNorm groupNorm(String name, int groups, int channels, double eps) {
        return pp(name).groupNormHere(groups, channels, eps);
    }

    /** This module itself is a GroupNorm. */
    public GroupNorm groupNormHere(int groups, int channels, double eps) {
        VarBuilder c = this;
        GroupNorm n = new GroupNorm(c.path(), groups, channels, eps, c.kept("weight", channels), c.kept("bias", channels));
        weights.norm(n.info());
        return n;
    }

    public LayerNorm layerNorm(String name, int channels, double eps) {
        VarBuilder c = pp(name);
        LayerNorm n = new LayerNorm(c.path(), channels, eps, c.kept("weight", channels), c.kept("bias", channels));
        weights.norm(n.info());
        return n;
    }

    void registerAttention(dev.unet4j.unet.AttentionInfo info) {
        weights.attention(info);
    }
}
