package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code DecoderTiny}: latents soft-clamped to {@code 3 tanh(z / 3)}, then {@code layers} = 3x3 conv, act,
 * and per level its AutoencoderTinyBlocks, a nearest upsampling (not after the last) and a bias-free 3x3 conv (the
 * last one to the image channels, with bias); the [0, 1] result is mapped to [-1, 1].
 */
final class DecoderTiny {
    private final List<TinyLayer> layers = new ArrayList<>();

    DecoderTiny(VarBuilder vb, AutoencoderTinyConfig c) {
        VarBuilder l = vb.pp("layers");
        TinyActivation act = TinyActivation.of(c.actFn());
        int[] ch = c.decoderBlockOutChannels();
        int idx = 0;
        layers.add(TinyLayer.conv(l.conv(Integer.toString(idx++), Conv2dSpec.of(c.latentChannels(), ch[0], 3, 1, 1), true)));
        layers.add(TinyLayer.activation(act));
        idx++;
        for (int i = 0; i < ch.length; i++) {
            boolean last = i == ch.length - 1;
            for (int b = 0; b < c.numDecoderBlocks()[i]; b++) layers.add(new AutoencoderTinyBlock(l.pp(idx++), ch[i], act));
            if (!last) {
                layers.add(TinyLayer.upsample(c.upsamplingScalingFactor()));
                idx++;
            }
            layers.add(TinyLayer.conv(l.conv(Integer.toString(idx++), Conv2dSpec.of(ch[i], last ? c.outChannels() : ch[i], 3, 1, 1), last)));
        }
    }

    /** Image {@code [B, out, f*h, f*w]} in about [-1, 1] from latents {@code z} (borrowed); owned by the caller. */
    Tensor forward(Pass p, Tensor z) {
        float[] v = z.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] = (float) Math.tanh(v[i] / 3f) * 3f;  // torch.tanh(x / 3) * 3
        Tensor y;
        try (Tensor clamped = Tensor.of(v, z.shape())) {
            y = Chain.run(p, layers, clamped);                                      // [B, out, H, W] in [0, 1]
        }
        try {
            Tensor one = Tensor.of(new float[]{1f}, 1, 1, 1, 1);
            try (one) {
                return p.k.add(p.ws, y, one, 2f, -1f);                             // x.mul(2).sub(1)
            }
        } finally {
            p.release(y);
        }
    }
}
