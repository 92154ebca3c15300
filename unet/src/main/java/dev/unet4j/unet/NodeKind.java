package dev.unet4j.unet;

/** What a graph node computes (its diffusers module class), independent of where it sits. */
public enum NodeKind {
    TIME_PROJECTION, TIME_EMBEDDING, CLASS_EMBEDDING, ADD_EMBEDDING, CONV_IN, CONV_NORM_OUT, CONV_OUT,
    DOWN_BLOCK, MID_BLOCK, UP_BLOCK,
    RESNET,
    /** UNet2DModel-style {@code Attention} over an image (group norm, residual inside). */
    SPATIAL_ATTENTION,
    /** {@code Transformer2DModel}. */
    TRANSFORMER,
    DOWNSAMPLER, UPSAMPLER,
    /** {@code transformer_blocks.k.attn1} (self-attention, or cross when only_cross_attention). */
    ATTN1,
    /** {@code transformer_blocks.k.attn2} (cross-attention). */
    ATTN2,
    /** {@code transformer_blocks.k.ff}. */
    FEED_FORWARD;

    /** Attention of any flavour (the units attention-caching methods act on). */
    public boolean isAttention() {
        return this == SPATIAL_ATTENTION || this == ATTN1 || this == ATTN2;
    }
}
