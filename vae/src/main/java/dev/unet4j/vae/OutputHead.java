package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.nn.ConvNode;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.NormOut;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * The Encoder's and Decoder's last layers: {@code conv_norm_out} (GroupNorm, eps 1e-6) -> {@code conv_act} (always
 * SiLU, whatever act_fn) -> {@code conv_out} (3x3). The norm is its own node so that its output can be observed, as
 * diffusers' module hooks see it.
 */
final class OutputHead {
    private final Node normOut, convOut;

    OutputHead(VarBuilder vb, int groups, int in, int out) {
        normOut = new NormOut(vb.pp("conv_norm_out"), groups, in, VaeResnets.EPS);
        convOut = new ConvNode(vb.pp("conv_out"), NodeKind.CONV_OUT, Conv2dSpec.of(in, out, 3, 1, 1));
    }

    /** {@code conv_out(silu(conv_norm_out(h)))}; releases {@code h} (owned by the pass), result owned by the caller. */
    Tensor apply(Pass p, Tensor h) {
        Tensor n;
        try {
            n = normOut.apply(p, h);                       // [B, in, H, W]
        } finally {
            p.release(h);
        }
        try (n; Tensor a = p.k.silu(p.ws, n)) {
            return convOut.apply(p, a);                    // [B, out, H, W]
        }
    }
}
