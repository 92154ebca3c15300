package dev.unet4j.unet;

/** Granularity of a graph node, from the whole-model stem layers down to attention/feed-forward units. */
public enum NodeLevel {
    /** Top-level layers outside the blocks: time_proj, time_embedding, class_embedding, add_embedding, conv_in, conv_norm_out, conv_out. */
    STEM,
    /** {@code down_blocks.i}, {@code mid_block}, {@code up_blocks.i}. */
    BLOCK,
    /** A block's {@code resnets.j}, {@code attentions.j}, {@code downsamplers.0}, {@code upsamplers.0}. */
    LAYER,
    /**
     * Attention and feed-forward units: {@code transformer_blocks.k.attn1 / attn2 / ff}, and a UNet2DModel-style
     * attention ({@code attentions.j}), which is visited as a LAYER and, inside it under the same path, as a UNIT.
     */
    UNIT
}
