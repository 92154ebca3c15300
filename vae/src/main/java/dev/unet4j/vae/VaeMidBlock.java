package dev.unet4j.vae;

import dev.unet4j.unet.nn.LayerAttention;
import dev.unet4j.unet.nn.MidBlock;
import dev.unet4j.unet.nn.VarBuilder;

/** The Encoder's and Decoder's {@code mid_block}. */
final class VaeMidBlock {
    private VaeMidBlock() {
    }

    /**
     * {@code UNetMidBlock2D(temb_channels=None, attention_head_dim=channels)}: resnet, one attention (one head over all
     * channels, its own GroupNorm, residual, rescale 1) unless {@code mid_block_add_attention} is false, resnet.
     */
    static MidBlock build(VarBuilder vb, AutoencoderKLConfig c, VaeResnets r) {
        int ch = c.blockOutChannels()[c.levels() - 1];
        LayerAttention attn = c.midBlockAddAttention()
                ? new LayerAttention.Spatial(ch, c.normNumGroups(), VaeResnets.EPS, 1.0) : new LayerAttention.None();
        return new MidBlock(vb.pp("mid_block"), ch, 1, attn, 1.0, r.defaults());
    }
}
