package dev.unet4j.zoo.ddos;

import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.LayerNode;
import dev.unet4j.zoo.nn.WithContext;
import dev.unet4j.zoo.nn.ZConv;

import java.util.List;

/**
 * {@code UNetUpBlock}: {@code up} ({@code 'upsample'}: trilinear x2 then a 1x1x1 conv, {@code up.1}; {@code 'upconv'}:
 * a 2x2x2 stride-2 transposed conv), resized trilinearly to the skip's size (odd volumes), concatenated before the
 * skip, then a {@link UNetConvBlock}. The skip (the "bridge") is the node's second input: the pass carries it in
 * {@link Pass#context} while the node runs, so interceptors see it as {@code NodeCall.encoderHiddenStates()}.
 */
final class UNetUpBlock extends Node {
    private final Node up;
    private final UNetConvBlock convBlock;

    UNetUpBlock(Build b, VarBuilder vb, int in, int out, boolean upconv, boolean padding, boolean batchNorm) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.UP_BLOCK);
        VarBuilder upVb = vb.pp("up");
        if (upconv) {
            ZConv t = ZConv.at(b, upVb, new ConvSpec(in, out, new int[]{2, 2, 2}, new int[]{2, 2, 2}, new int[3], 1, true), true);
            up = new LayerNode(upVb.path(), NodeLevel.LAYER, NodeKind.UPSAMPLER, t::forward);
        } else {
            ZConv c = ZConv.at(b, upVb.pp(1), ConvSpec.of(3, in, out, 1, 1, 0), true);
            up = new LayerNode(upVb.path(), NodeLevel.LAYER, NodeKind.UPSAMPLER, (p, x) -> {
                Tensor u = p.k.resizeLinear(p.ws, x, 2 * x.dim(2), 2 * x.dim(3), 2 * x.dim(4)); // nn.Upsample(trilinear, x2)
                try {
                    return c.forward(p, u);
                } finally {
                    u.close();
                }
            });
        }
        convBlock = new UNetConvBlock(b, vb.pp("conv_block"), NodeKind.UP_BLOCK, in, out, padding, batchNorm);
    }

    @Override
    public List<Node> children() {
        return List.of(up, convBlock);
    }

    /** Runs the block on {@code x} with skip {@code bridge} (both borrowed). */
    Tensor apply(Pass p, Tensor x, Tensor bridge) {
        return WithContext.apply(this, p, bridge, x);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Tensor bridge = p.context;
        if (bridge == null || bridge.rank() != 5) throw new IllegalStateException(path + " runs with its skip volume as the pass context");
        Tensor u = up.apply(p, x);
        Tensor cat;
        try {
            // F.interpolate(up, size=bridge.shape[2:], mode='trilinear'): the identity when the sizes already agree
            boolean same = u.dim(2) == bridge.dim(2) && u.dim(3) == bridge.dim(3) && u.dim(4) == bridge.dim(4);
            Tensor r = same ? null : p.k.resizeLinear(p.ws, u, bridge.dim(2), bridge.dim(3), bridge.dim(4));
            try {
                cat = p.k.concat(p.ws, r != null ? r : u, bridge); // [B, out + skip, D, H, W]
            } finally {
                if (r != null) r.close();
            }
        } finally {
            p.release(u);
        }
        try {
            return convBlock.apply(p, cat);
        } finally {
            cat.close();
        }
    }
}
