package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * diffusers {@code ResnetBlock2D}: {@code norm1 -> act -> [resample] -> conv1 -> + time_emb_proj(act(temb)) -> norm2
 * -> act -> conv2}, plus the (1x1-projected) input, divided by {@code output_scale_factor}. With
 * {@code time_embedding_norm="scale_shift"} the projection gives {@code (scale, shift)} and the norm2 output becomes
 * {@code norm2(h) * (1 + scale) + shift}.
 */
public final class ResnetBlock2D extends Node {

    /**
     * @param in                 input channels
     * @param out                output channels
     * @param tembChannels       time embedding width, 0 for none
     * @param groups             norm1 groups
     * @param groupsOut          norm2 groups
     * @param eps                both norms' eps
     * @param act                the nonlinearity (also applied to temb unless {@code skipTimeAct})
     * @param scaleShift         {@code resnet_time_scale_shift == "scale_shift"}
     * @param outputScaleFactor  the sum is divided by this
     * @param skipTimeAct        {@code resnet_skip_time_act}
     * @param resample           built-in up/down sampling
     */
    public record Spec(int in, int out, int tembChannels, int groups, int groupsOut, double eps, Activation act,
                       boolean scaleShift, double outputScaleFactor, boolean skipTimeAct, Resample resample) {
    }

    private final Spec spec;
    private final GroupNorm norm1, norm2;
    private final Conv conv1, conv2, convShortcut;
    private final Dense timeEmbProj;

    public ResnetBlock2D(VarBuilder vb, Spec s) {
        super(vb.path(), NodeLevel.LAYER, NodeKind.RESNET);
        this.spec = s;
        norm1 = vb.groupNorm("norm1", s.groups, s.in, s.eps);
        conv1 = vb.conv("conv1", Conv2dSpec.of(s.in, s.out, 3, 1, 1), true);
        timeEmbProj = s.tembChannels > 0 ? vb.linear("time_emb_proj", s.tembChannels, s.scaleShift ? 2 * s.out : s.out, true) : null;
        norm2 = vb.groupNorm("norm2", s.groupsOut, s.out, s.eps);
        conv2 = vb.conv("conv2", Conv2dSpec.of(s.out, s.out, 3, 1, 1), true);
        convShortcut = s.in != s.out ? vb.conv("conv_shortcut", Conv2dSpec.of(s.in, s.out, 1, 1, 0), true) : null;
    }

    public Spec spec() {
        return spec;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        long b = x.dim(0);
        Tensor h = norm1.forward(p, x, spec.act);                          // [B, in, H, W]
        Tensor input = x;                                                  // borrowed unless resampled
        if (spec.resample != Resample.NONE) {
            Tensor hr = spec.resample.apply(p, h);
            h.close();
            h = hr;
            input = spec.resample.apply(p, x);
        }
        try {
            Tensor c1 = conv1.forward(p, h);                               // [B, out, H, W]
            h.close();
            h = c1;
            if (timeEmbProj != null) {
                if (p.temb == null) throw new IllegalStateException(path + " needs a time embedding");
                Tensor t = timeEmbProj.forward(p, spec.skipTimeAct ? p.temb : p.tembActivated(spec.act)); // [B, out or 2*out]
                try {
                    if (spec.scaleShift) {
                        Tensor n = norm2.forward(p, h, false);
                        // (scale, shift) = chunk(temb, 2); dense [B, C] copies (tiny) since the oneDNN scaleShift
                        // currently refuses the strided halves
                        Tensor m;
                        try (Tensor scale = p.copyOf(t.narrow(1, 0, spec.out)); Tensor shift = p.copyOf(t.narrow(1, spec.out, spec.out))) {
                            m = p.k.scaleShift(p.ws, n, scale, shift);
                        }
                        n.close();
                        h.close();
                        h = spec.act.apply(p, m);
                        m.close();
                    } else {
                        Tensor sum = p.k.add(p.ws, h, t.reshape(b, spec.out, 1, 1), 1f, 1f);
                        h.close();
                        h = norm2.forward(p, sum, spec.act);
                        sum.close();
                    }
                } finally {
                    t.close();
                }
            } else {
                Tensor n = norm2.forward(p, h, spec.act);
                h.close();
                h = n;
            }
            Tensor shortcut = convShortcut == null ? null : convShortcut.forward(p, input); // [B, out, H, W]
            try {
                return conv2.forward(p, h, shortcut == null ? input : shortcut, (float) (1.0 / spec.outputScaleFactor));
            } finally {
                h.close();
                if (shortcut != null) shortcut.close();
            }
        } finally {
            if (input != x) input.close();
        }
    }
}
