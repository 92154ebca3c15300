package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.nn.ConvNode;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Decoder}: {@code conv_in -> mid_block -> UpDecoderBlock2D x levels (reversed widths,
 * layers_per_block + 1 resnets) -> conv_norm_out -> SiLU -> conv_out}.
 */
final class Decoder {
    private final List<Node> nodes = new ArrayList<>();
    private final List<UpDecoderBlock2D> upBlocks = new ArrayList<>();
    private final OutputHead head;

    Decoder(VarBuilder vb, AutoencoderKLConfig c, VaeResnets r) {
        int[] boc = c.blockOutChannels();
        int n = boc.length;
        nodes.add(new ConvNode(vb.pp("conv_in"), NodeKind.CONV_IN, Conv2dSpec.of(c.latentChannels(), boc[n - 1], 3, 1, 1)));
        nodes.add(VaeMidBlock.build(vb, c, r));
        int out = boc[n - 1];
        for (int i = 0; i < n; i++) {
            int prev = out;
            out = boc[n - 1 - i];
            upBlocks.add(new UpDecoderBlock2D(vb.pp("up_blocks").pp(i), prev, out, c.layersPerBlock() + 1, i < n - 1, r));
        }
        head = new OutputHead(vb, c.normNumGroups(), boc[0], c.outChannels());
    }

    /** Image {@code [B, out, H, W]} from latents {@code z} (borrowed, after post_quant_conv); owned by the caller. */
    Tensor forward(Pass p, Tensor z) {
        Tensor h = Chain.runNodes(p, nodes, z);
        for (UpDecoderBlock2D b : upBlocks) h = b.consume(p, h);   // each block frees its input early
        return head.apply(p, h);
    }
}
