package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * DownBlock2D, AttnDownBlock2D and CrossAttnDownBlock2D: {@code (resnet -> [attention]) x n -> [downsampler]}, each
 * layer's output pushed on the skip stack.
 */
public final class DownBlock extends Node {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Node> attentions = new ArrayList<>();
    private final Node downsampler;

    public DownBlock(VarBuilder vb, BlockSpec s, ResnetDefaults r) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.DOWN_BLOCK);
        for (int j = 0; j < s.numLayers(); j++) {
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), r.spec(j == 0 ? s.in() : s.out(), s.out(), 1.0, Resample.NONE)));
            Node a = s.attention().build(vb.pp("attentions").pp(j), j, s.out());
            if (a != null) attentions.add(a);
        }
        VarBuilder ds = vb.pp("downsamplers").pp(0);
        if (!s.addResample()) downsampler = null;
        else if (s.resnetResample()) downsampler = new ResnetBlock2D(ds, r.spec(s.out(), s.out(), 1.0, Resample.DOWN));
        else downsampler = new Downsample2D(ds, s.out(), s.downsamplePadding());
    }

    @Override
    public List<Node> children() {
        return Blocks.interleave(resnets, attentions, downsampler);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Flow f = new Flow(p, x);
        for (int j = 0; j < resnets.size(); j++) {
            f.step(resnets.get(j));                           // [B, out, H, W]
            if (!attentions.isEmpty()) f.step(attentions.get(j));
            p.skips.push(f.h, f.lastPath);
        }
        if (downsampler != null) {
            f.step(downsampler);                               // [B, out, H/2, W/2]
            p.skips.push(f.h, f.lastPath);
        }
        return f.result();
    }
}
