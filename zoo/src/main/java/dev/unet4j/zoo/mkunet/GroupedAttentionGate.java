package dev.unet4j.zoo.mkunet;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;
import dev.unet4j.zoo.nn.Act;
import dev.unet4j.zoo.nn.Build;
import dev.unet4j.zoo.nn.WithContext;

/**
 * MK-UNet's grouped attention gate {@code AGk(g, x)}: {@code psi = sigmoid(BN(conv1x1(relu(W_g(g) + W_x(x)))))},
 * output {@code x * psi}, where {@code W_g}, {@code W_x} are grouped k x k convs + BN. The node's input is the skip
 * {@code x} it gates; the decoder state {@code g} travels in {@link Pass#context} while it runs (an interceptor sees it
 * as {@code NodeCall.encoderHiddenStates()}).
 */
final class GroupedAttentionGate extends Node {
    private final ConvBn wg, wx, psi;

    GroupedAttentionGate(Build b, VarBuilder vb, int channels, int kernel) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.SPATIAL_ATTENTION);
        int fInt = channels / 2, groups = kernel == 1 ? 1 : channels / 2;
        wg = new ConvBn(b, vb.pp("W_g"), ConvBn.spec(channels, fInt, kernel, groups), true, null);
        wx = new ConvBn(b, vb.pp("W_x"), ConvBn.spec(channels, fInt, kernel, groups), true, null);
        psi = new ConvBn(b, vb.pp("psi"), ConvBn.spec(fInt, 1, 1, 1), true, Act.SIGMOID);
    }

    /** {@code AG(g=g, x=x)}, both borrowed. */
    Tensor apply(Pass p, Tensor g, Tensor x) {
        return WithContext.apply(this, p, g, x);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Tensor g = p.context;
        if (g == null) throw new IllegalStateException(path + " runs with its gating signal g as the pass context");
        Tensor a;
        try (Tensor g1 = wg.forward(p, g); Tensor s = wx.forwardPlus(p, x, g1)) { // W_g(g) + W_x(x), the sum fused into W_x
            a = Act.RELU.apply(p, s);
        }
        p.captureIfRequested(path + ".activation", a);
        try (Tensor weights = psi.forward(p, a)) {
            return p.k.mul(p.ws, x, weights); // [B, C, H, W] * [B, 1, H, W]
        } finally {
            a.close();
        }
    }
}
