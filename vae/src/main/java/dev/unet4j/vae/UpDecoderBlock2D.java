package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.ResnetBlock2D;
import dev.unet4j.unet.nn.Upsample2D;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code UpDecoderBlock2D}: {@code resnets.0..n-1} (no time embedding, n = layers_per_block + 1) then,
 * except on the last level, {@code upsamplers.0} (nearest 2x, 3x3 conv).
 */
final class UpDecoderBlock2D extends Node {
    private final List<Node> layers = new ArrayList<>();

    UpDecoderBlock2D(VarBuilder vb, int in, int out, int numLayers, boolean addUpsample, VaeResnets r) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.UP_BLOCK);
        for (int j = 0; j < numLayers; j++) layers.add(new ResnetBlock2D(vb.pp("resnets").pp(j), r.spec(j == 0 ? in : out, out)));
        if (addUpsample) layers.add(new Upsample2D(vb.pp("upsamplers").pp(0), out, true));
    }

    @Override
    public List<Node> children() {
        return List.copyOf(layers);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return Chain.runNodes(p, layers, x);                  // [B, out, 2H, 2W] (H, W on the last level)
    }

    /**
     * {@link #forward} taking {@code x} over, so that it is freed once the first resnet has read it rather than
     * living beside the upsampler's full-resolution maps (the decoder's peak); captures of the block see its output.
     */
    Tensor consume(Pass p, Tensor x) {
        Tensor out = Chain.consumeNodes(p, layers, x);
        p.captureIfRequested(path, out);
        return out;
    }
}
