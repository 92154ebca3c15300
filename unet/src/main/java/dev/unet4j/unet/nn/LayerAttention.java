package dev.unet4j.unet.nn;

import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/** The attention layer that follows each resnet of a block, if any, with the parameters its block type gives it. */
public sealed interface LayerAttention {

    /** Builds the attention for layer {@code j} of a block with {@code channels} channels. */
    Node build(VarBuilder vb, int j, int channels);

    /** DownBlock2D / UpBlock2D: no attention. */
    record None() implements LayerAttention {
        @Override
        public Node build(VarBuilder vb, int j, int channels) {
            return null;
        }
    }

    /**
     * AttnDownBlock2D / AttnUpBlock2D / UNetMidBlock2D: {@code Attention(channels, heads=channels // headDim,
     * dim_head=headDim, residual_connection=True, bias=True, _from_deprecated_attn_block=True)}.
     *
     * @param headDim    channels per head
     * @param normGroups group norm groups, 0 for none
     * @param eps        group norm eps (the resnet eps)
     * @param rescale    rescale_output_factor
     */
    record Spatial(int headDim, int normGroups, double eps, double rescale) implements LayerAttention {
        @Override
        public Node build(VarBuilder vb, int j, int channels) {
            if (channels % headDim != 0) {
                throw new dev.unet4j.unet.UnsupportedConfigException(vb.path() + ": " + channels + " channels not divisible by attention head dim " + headDim);
            }
            return new LayerOf(new Attention(vb, NodeLevel.UNIT, NodeKind.SPATIAL_ATTENTION,
                    new Attention.Spec(channels, 0, channels / headDim, headDim, true, normGroups, eps, true, rescale, false, true)));
        }
    }

    /**
     * CrossAttnDownBlock2D / CrossAttnUpBlock2D / UNetMidBlock2DCrossAttn: a Transformer2DModel.
     *
     * @param heads            num_attention_heads
     * @param layersPerLayer   transformer blocks for each attention of the block
     * @param crossDim         cross_attention_dim
     * @param groups           its GroupNorm's groups
     * @param linearProj       use_linear_projection
     * @param onlyCross        only_cross_attention
     */
    record Transformer(int heads, int[] layersPerLayer, int crossDim, int groups, boolean linearProj, boolean onlyCross)
            implements LayerAttention {
        @Override
        public Node build(VarBuilder vb, int j, int channels) {
            int layers = layersPerLayer[Math.min(j, layersPerLayer.length - 1)];
            return new Transformer2D(vb, new Transformer2D.Spec(channels, heads, layers, crossDim, groups, linearProj, onlyCross));
        }
    }
}
