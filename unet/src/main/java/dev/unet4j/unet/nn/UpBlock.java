package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.ArrayList;
import java.util.List;

/**
 * UpBlock2D, AttnUpBlock2D and CrossAttnUpBlock2D: {@code (cat(h, skip.pop()) -> resnet -> [attention]) x n ->
 * [upsampler]}.
 */
public final class UpBlock extends Node {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Node> attentions = new ArrayList<>();
    private final Node upsampler;

    public UpBlock(VarBuilder vb, BlockSpec s, ResnetDefaults r) {
        super(vb.path(), NodeLevel.BLOCK, NodeKind.UP_BLOCK);
        int n = s.numLayers();
        for (int j = 0; j < n; j++) {
            int skipCh = j == n - 1 ? s.in() : s.out();
            int inCh = j == 0 ? s.prevOut() : s.out();
            resnets.add(new ResnetBlock2D(vb.pp("resnets").pp(j), r.spec(inCh + skipCh, s.out(), 1.0, Resample.NONE)));
            Node a = s.attention().build(vb.pp("attentions").pp(j), j, s.out());
            if (a != null) attentions.add(a);
        }
        VarBuilder us = vb.pp("upsamplers").pp(0);
        if (!s.addResample()) upsampler = null;
        else if (s.resnetResample()) upsampler = new ResnetBlock2D(us, r.spec(s.out(), s.out(), 1.0, Resample.UP));
        else upsampler = new Upsample2D(us, s.out());
    }

    /** Skip tensors this block pops. */
    public int pops() {
        return resnets.size();
    }

    @Override
    public List<Node> children() {
        return Blocks.interleave(resnets, attentions, upsampler);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        Flow f = new Flow(p, x);
        for (int j = 0; j < resnets.size(); j++) {
            Tensor skip = p.skips.pop(path);
            if (p.served(resnets.get(j).path())) {
                p.release(skip);                                    // a cache serves the resnet: nothing reads the concat
            } else {
                Tensor cat = p.k.concat(p.ws, f.h, skip);          // [B, C + Cskip, H, W]
                p.release(skip);
                f.replace(cat);
            }
            f.step(resnets.get(j));                                 // [B, out, H, W]
            if (!attentions.isEmpty()) f.step(attentions.get(j));
        }
        if (upsampler != null) f.step(upsampler);                   // [B, out, 2H, 2W]
        return f.result();
    }
}
