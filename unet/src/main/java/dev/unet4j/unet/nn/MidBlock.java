package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * UNetMidBlock2D and UNetMidBlock2DCrossAttn: {@code resnets.0 -> (attention -> resnet) x numLayers}; an attention may
 * be absent ({@code add_attention=False}).
 */
public final class MidBlock extends Node {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Node> attentions = new ArrayList<>(); // null entries: no attention

    /**
     * @param numLayers          attention+resnet pairs after the first resnet
     * @param attention          the attentions (None for none)
     * @param outputScaleFactor  mid_block_scale_factor, for every resnet
     */
    public MidBlock(VarBuilder vb, int channels, int numLayers, LayerAttention attention, double outputScaleFactor, ResnetDefaults r) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.MID_BLOCK);
        resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(0), r.spec(channels, channels, outputScaleFactor, Resample.NONE)));
        for (int j = 0; j < numLayers; j++) {
            attentions.add(attention.build(vb.pp("attentions").pp(j), j, channels));
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j + 1), r.spec(channels, channels, outputScaleFactor, Resample.NONE)));
        }
    }

    @Override
    public List<Node> children() {
        List<Node> c = new ArrayList<>();
        c.add(resnets.get(0));
        for (int j = 0; j < attentions.size(); j++) {
            if (attentions.get(j) != null) c.add(attentions.get(j));
            c.add(resnets.get(j + 1));
        }
        return c;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Flow f = new Flow(p, x);
        f.step(resnets.get(0));                                    // [B, C, H, W]
        for (int j = 0; j < attentions.size(); j++) {
            if (attentions.get(j) != null) f.step(attentions.get(j));
            f.step(resnets.get(j + 1));
        }
        return f.result();
    }
}
