package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Dense;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/** transformers' {@code CLIPMLP}: {@code fc2(act(fc1(x)))}, the residual fused into {@code fc2}. */
public final class ClipMlp {
    private final Dense fc1, fc2;
    private final ClipActivation act;

    public ClipMlp(VarBuilder vb, int width, int inner, ClipActivation act) {
        this.fc1 = vb.linear("fc1", width, inner, true);
        this.fc2 = vb.linear("fc2", inner, width, true);
        this.act = act;
    }

    /** {@code fc2(act(fc1(x))) + residual}. */
    public Tensor forward(Pass p, Tensor x, Tensor residual) {
        Tensor h;
        try (Tensor f = fc1.forward(p, x)) {           // [B, T, inner]
            h = act.apply(p, f);
        }
        try (h) {
            return fc2.forward(p, h, residual, 1f);      // [B, T, C]
        }
    }
}
