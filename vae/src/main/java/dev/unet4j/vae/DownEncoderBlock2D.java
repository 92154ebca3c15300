package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.nn.Downsample2D;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.ResnetBlock2D;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers {@code DownEncoderBlock2D}: {@code resnets.0..n-1} (no time embedding) then, except on the last level,
 * {@code downsamplers.0} with {@code padding=0} (pad right and bottom by one, stride-2 3x3 conv: floor(H/2)). Unlike
 * the UNet's down blocks it keeps no skip connections.
 */
final class DownEncoderBlock2D extends Node {
    private final List<Node> layers = new ArrayList<>();

    DownEncoderBlock2D(VarBuilder vb, int in, int out, int numLayers, boolean addDownsample, VaeResnets r) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.DOWN_BLOCK);
        for (int j = 0; j < numLayers; j++) layers.add(new ResnetBlock2D(vb.pp("resnets").pp(j), r.spec(j == 0 ? in : out, out)));
        if (addDownsample) layers.add(new Downsample2D(vb.pp("downsamplers").pp(0), out, 0));
    }

    @Override
    public List<Node> children() {
        return List.copyOf(layers);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return Chain.runNodes(p, layers, x);                  // [B, out, H/2, W/2] (H, W on the last level)
    }
}
