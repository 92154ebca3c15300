package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.List;

/**
 * diffusers {@code BasicTransformerBlock} (norm_type "layer_norm", GEGLU feed-forward):
 * {@code h += attn1(norm1(h)); h += attn2(norm2(h), ctx); h += ff(norm3(h))}. Its LayerNorms use eps 1e-5 whatever
 * the UNet's {@code norm_eps} (fixtures note 2). attn1, attn2 and ff are interceptable units.
 */
final class BasicTransformerBlock {
    /** {@code BasicTransformerBlock}'s default {@code norm_eps}. */
    static final double LAYER_NORM_EPS = 1e-5;

    private final LayerNorm norm1, norm2, norm3;
    private final Attention attn1, attn2;
    private final FeedForward ff;

    /**
     * @param dim         inner dim
     * @param heads       heads
     * @param headDim     channels per head
     * @param crossDim    cross_attention_dim
     * @param onlyCross   attn1 attends to the encoder hidden states too
     */
    BasicTransformerBlock(VarBuilder vb, int dim, int heads, int headDim, int crossDim, boolean onlyCross) {
        norm1 = vb.layerNorm("norm1", dim, LAYER_NORM_EPS);
        attn1 = new Attention(vb.pp("attn1"), NodeLevel.UNIT, NodeKind.ATTN1,
                new Attention.Spec(dim, onlyCross ? crossDim : 0, heads, headDim, false, 0, 0, false, 1.0, false, false));
        norm2 = vb.layerNorm("norm2", dim, LAYER_NORM_EPS);
        attn2 = new Attention(vb.pp("attn2"), NodeLevel.UNIT, NodeKind.ATTN2,
                new Attention.Spec(dim, crossDim, heads, headDim, false, 0, 0, false, 1.0, true, false));
        norm3 = vb.layerNorm("norm3", dim, LAYER_NORM_EPS);
        ff = new FeedForward(vb.pp("ff"), dim, 4);
    }

    List<Node> units() {
        return List.of(attn1, attn2, ff);
    }

    /** {@code h} ([B, T, dim]) borrowed; returns a new tensor. */
    Tensor forward(Pass p, Tensor h) {
        Tensor h1, h2;
        try (Tensor n = norm1.forward(p, h)) {
            h1 = attn1.applyPlus(p, n, h);               // [B, T, dim]
        }
        try (Tensor n = norm2.forward(p, h1)) {
            h2 = attn2.applyPlus(p, n, h1);
        } finally {
            h1.close();
        }
        try (Tensor n = norm3.forward(p, h2)) {
            return ff.applyPlus(p, n, h2);
        } finally {
            h2.close();
        }
    }
}
