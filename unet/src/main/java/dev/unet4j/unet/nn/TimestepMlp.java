package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;

/**
 * diffusers {@code TimestepEmbedding}: {@code [+ cond_proj(cond)] -> linear_1 -> act -> linear_2 -> [post_act]}.
 */
final class TimestepMlp {
    private final Dense linear1, linear2, condProj;
    private final Activation act, postAct;

    TimestepMlp(VarBuilder vb, int in, int dim, Activation act, Activation postAct, Integer condProjDim) {
        condProj = condProjDim == null ? null : vb.linear("cond_proj", condProjDim, in, false);
        linear1 = vb.linear("linear_1", in, dim, true);
        linear2 = vb.linear("linear_2", dim, dim, true);
        this.act = act;
        this.postAct = postAct;
    }

    Tensor forward(Pass p, Tensor x, Tensor cond) {
        Tensor in = x;
        if (condProj != null && cond != null) in = condProj.forward(p, cond, x, 1f);   // x + cond_proj(cond)
        Tensor h;
        try (Tensor l1 = linear1.forward(p, in)) {                                      // [B, dim]
            h = act.apply(p, l1);
        } finally {
            if (in != x) in.close();
        }
        Tensor out;
        try {
            out = linear2.forward(p, h);                                                // [B, dim]
        } finally {
            h.close();
        }
        if (postAct == null) return out;
        try {
            return postAct.apply(p, out);
        } finally {
            out.close();
        }
    }
}
