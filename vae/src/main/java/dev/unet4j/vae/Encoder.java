package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.nn.ConvNode;
import dev.unet4j.unet.nn.LayerAttention;
import dev.unet4j.unet.nn.MidBlock;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Encoder}: {@code conv_in -> DownEncoderBlock2D x levels -> mid_block -> conv_norm_out -> SiLU
 * -> conv_out} to {@code 2 * latent_channels} (mean and log-variance, {@code double_z=True}).
 */
final class Encoder {
    private final List<Node> nodes = new ArrayList<>();
    private final OutputHead head;

    Encoder(VarBuilder vb, AutoencoderKLConfig c, VaeResnets r) {
        int[] boc = c.blockOutChannels();
        int n = boc.length;
        nodes.add(new ConvNode(vb.pp("conv_in"), NodeKind.CONV_IN, Conv2dSpec.of(c.inChannels(), boc[0], 3, 1, 1)));
        int out = boc[0];
        for (int i = 0; i < n; i++) {
            int in = out;
            out = boc[i];
            nodes.add(new DownEncoderBlock2D(vb.pp("down_blocks").pp(i), in, out, c.layersPerBlock(), i < n - 1, r));
        }
        nodes.add(midBlock(vb, c, r));
        head = new OutputHead(vb, c.normNumGroups(), boc[n - 1], 2 * c.latentChannels());
    }

    /**
     * {@code UNetMidBlock2D(temb_channels=None, attention_head_dim=channels)}: resnet, one attention (one head over all
     * channels, its own GroupNorm, residual, rescale 1) unless {@code mid_block_add_attention} is false, resnet.
     */
    static MidBlock midBlock(VarBuilder vb, AutoencoderKLConfig c, VaeResnets r) {
        int ch = c.blockOutChannels()[c.levels() - 1];
        LayerAttention attn = c.midBlockAddAttention()
                ? new LayerAttention.Spatial(ch, c.normNumGroups(), VaeResnets.EPS, 1.0) : new LayerAttention.None();
        return new MidBlock(vb.pp("mid_block"), ch, 1, attn, 1.0, r.defaults());
    }

    /** Moments {@code [B, 2 * latent, h, w]} of image {@code x} (borrowed); owned by the caller. */
    Tensor forward(Pass p, Tensor x) {
        return head.apply(p, Chain.runNodes(p, nodes, x));
    }
}
