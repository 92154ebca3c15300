package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/** diffusers {@code FeedForward} with GEGLU: {@code net.0.proj} (dim -> 2*inner, value half first), {@code net.2}. */
public final class FeedForward extends Node {
    private final Dense proj, out;

    public FeedForward(VarBuilder vb, int dim, int mult) {
        super(vb.path(), NodeLevel.UNIT, NodeKind.FEED_FORWARD);
        int inner = dim * mult;
        proj = vb.pp("net").pp(0).linear("proj", dim, 2 * inner, true);
        out = vb.pp("net").linear("2", inner, dim, true);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return forwardPlus(p, x, null);
    }

    @Override
    protected Tensor forwardPlus(Pass p, Tensor x, Tensor residual) {
        Tensor g;
        try (Tensor h = proj.forward(p, x)) {          // [B, T, 2*inner]
            g = p.k.geglu(p.ws, h);                     // [B, T, inner]
        }
        try {
            return out.forward(p, g, residual, 1f);     // [B, T, dim]
        } finally {
            g.close();
        }
    }
}
