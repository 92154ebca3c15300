package dev.unet4j.vae;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code EncoderTiny}: {@code layers} = per level a 3x3 conv (the first from the image, the others stride 2
 * without bias) and its AutoencoderTinyBlocks, then a 3x3 conv to the latent channels; the image is first mapped
 * from [-1, 1] to TAESD's [0, 1].
 */
final class EncoderTiny {
    private final List<TinyLayer> layers = new ArrayList<>();

    EncoderTiny(VarBuilder vb, AutoencoderTinyConfig c) {
        VarBuilder l = vb.pp("layers");
        TinyActivation act = TinyActivation.of(c.actFn());
        int[] ch = c.encoderBlockOutChannels();
        int idx = 0;
        for (int i = 0; i < ch.length; i++) {
            layers.add(TinyLayer.conv(i == 0 ? l.conv(Integer.toString(idx++), Conv2dSpec.of(c.inChannels(), ch[i], 3, 1, 1), true)
                    : l.conv(Integer.toString(idx++), Conv2dSpec.of(ch[i], ch[i], 3, 2, 1), false)));
            for (int b = 0; b < c.numEncoderBlocks()[i]; b++) layers.add(new AutoencoderTinyBlock(l.pp(idx++), ch[i], act));
        }
        layers.add(TinyLayer.conv(l.conv(Integer.toString(idx), Conv2dSpec.of(ch[ch.length - 1], c.latentChannels(), 3, 1, 1), true)));
    }

    /** Latents {@code [B, L, H/f, W/f]} of image {@code x} (borrowed, in [-1, 1]); owned by the caller. */
    Tensor forward(Pass p, Tensor x) {
        // x / 2 + 1/2 rounds as (x + 1) / 2 does: halving is exact
        try (Tensor half = p.k.scale(p.ws, x, 0.5f);
             Tensor offset = Tensor.of(new float[]{0.5f}, 1, 1, 1, 1);
             Tensor shifted = p.k.add(p.ws, half, offset, 1f, 1f)) {           // [B, in, H, W] in [0, 1]
            return Chain.run(p, layers, shifted);
        }
    }
}
