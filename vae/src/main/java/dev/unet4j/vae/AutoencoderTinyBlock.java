package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Conv;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * diffusers {@code AutoencoderTinyBlock} as EncoderTiny and DecoderTiny build it (same channels in and out, so its
 * {@code skip} is the identity): {@code relu(conv.4(act(conv.2(act(conv.0(x))))) + x)}.
 */
final class AutoencoderTinyBlock implements TinyLayer {
    private final Conv c0, c2, c4;
    private final TinyActivation act;

    AutoencoderTinyBlock(VarBuilder vb, int channels, TinyActivation act) {
        this.act = act;
        VarBuilder conv = vb.pp("conv");
        Conv2dSpec spec = Conv2dSpec.of(channels, channels, 3, 1, 1);
        c0 = conv.conv("0", spec, true);
        c2 = conv.conv("2", spec, true);
        c4 = conv.conv("4", spec, true);
    }

    @Override
    public Tensor apply(Pass p, Tensor x) {
        Tensor h = act.applyConsuming(p, c0.forward(p, x));                      // [B, C, H, W]
        Tensor h2;
        try {
            h2 = act.applyConsuming(p, c2.forward(p, h));
        } finally {
            p.release(h);
        }
        Tensor sum;
        try {
            sum = c4.forward(p, h2, x, 1f);                                      // conv(x) + skip(x)
        } finally {
            p.release(h2);
        }
        TinyActivation.relu(sum);                                                // fuse: always ReLU
        return sum;
    }
}
