package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code Transformer2DModel} on continuous input: GroupNorm (eps hard-coded 1e-6), {@code proj_in} (1x1 conv,
 * or linear with {@code use_linear_projection}), the transformer blocks over {@code [B, H*W, inner]} tokens,
 * {@code proj_out}, plus the input.
 */
public final class Transformer2D extends Node {
    /** {@code Transformer2DModel}'s GroupNorm eps. */
    static final double NORM_EPS = 1e-6;

    /**
     * @param channels       in/out channels
     * @param heads          attention heads
     * @param layers         transformer blocks
     * @param crossDim       cross_attention_dim
     * @param groups         norm groups
     * @param linearProj     use_linear_projection
     * @param onlyCross      only_cross_attention
     */
    public record Spec(int channels, int heads, int layers, int crossDim, int groups, boolean linearProj, boolean onlyCross) {
    }

    private final Spec spec;
    private final GroupNorm norm;
    private final Conv projInConv, projOutConv;
    private final Dense projInLinear, projOutLinear;
    private final List<BasicTransformerBlock> blocks = new ArrayList<>();

    public Transformer2D(VarBuilder vb, Spec s) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.TRANSFORMER);
        this.spec = s;
        int headDim = s.channels / s.heads;
        int inner = s.heads * headDim;
        norm = vb.groupNorm("norm", s.groups, s.channels, NORM_EPS);
        if (s.linearProj) {
            projInLinear = vb.linear("proj_in", s.channels, inner, true);
            projInConv = null;
        } else {
            projInConv = vb.conv("proj_in", Conv2dSpec.of(s.channels, inner, 1, 1, 0), true);
            projInLinear = null;
        }
        for (int i = 0; i < s.layers; i++) {
            blocks.add(new BasicTransformerBlock(vb.pp("transformer_blocks").pp(i), inner, s.heads, headDim, s.crossDim, s.onlyCross));
        }
        if (s.linearProj) {
            projOutLinear = vb.linear("proj_out", inner, s.channels, true);
            projOutConv = null;
        } else {
            projOutConv = vb.conv("proj_out", Conv2dSpec.of(inner, s.channels, 1, 1, 0), true);
            projOutLinear = null;
        }
    }

    @Override
    public List<Node> children() {
        List<Node> c = new ArrayList<>();
        for (BasicTransformerBlock b : blocks) c.addAll(b.units());
        return c;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        long hgt = x.dim(2), wid = x.dim(3);
        Tensor h;
        try (Tensor n = norm.forward(p, x, false)) {                              // [B, C, H, W]
            h = spec.linearProj
                    ? projInLinear.forward(p, Layouts.tokensView(n))                // [B, HW, inner]
                    : Layouts.toTokens(projInConv.forward(p, n));                   // [B, HW, inner]
        }
        for (BasicTransformerBlock b : blocks) {
            Tensor next = b.forward(p, h);                                        // [B, HW, inner]
            h.close();
            h = next;
        }
        try {
            if (spec.linearProj) {
                Tensor o = projOutLinear.forward(p, h, Layouts.tokensView(x), 1f); // [B, HW, C]
                return Layouts.toImage(o, hgt, wid);                                // [B, C, H, W]
            }
            try (Tensor img = h.view(new long[]{h.dim(0), h.dim(2), hgt, wid},
                    new long[]{h.stride(0), h.stride(2), wid * h.stride(1), h.stride(1)}, h.offset())) {
                return projOutConv.forward(p, img, x, 1f);                         // [B, C, H, W]
            }
        } finally {
            h.close();
        }
    }
}
