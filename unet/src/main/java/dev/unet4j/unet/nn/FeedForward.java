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

    /**
     * {@code value * gelu_erf(gate)}, the halves read as strided views. Two dense-output element-wise kernels are ~20x
     * faster on oneDNN than {@link dev.unet4j.core.kernels.Kernels#geglu}, whose split of the halves falls back to a
     * reference reorder; the math (and the order of operations) is the same.
     */
    static Tensor geglu(Pass p, Tensor h) {
        long inner = h.dim(-1) / 2;
        int last = h.rank() - 1;
        try (Tensor gelu = p.k.gelu(p.ws, h.narrow(last, inner, inner), true)) {   // [B, T, inner], dense
            return p.k.mul(p.ws, h.narrow(last, 0, inner), gelu);
        }
    }

    /** {@code net.0.proj} (dim -> 2*inner) and {@code net.2} (inner -> dim), as {@link Dense} counts them. */
    @Override
    protected long macsFor(Pass p, Tensor x) {
        long rows = x.numel() / x.dim(-1);
        return rows * proj.in() * proj.out() + rows * out.in() * out.out();
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return forwardPlus(p, x, null);
    }

    @Override
    protected Tensor forwardPlus(Pass p, Tensor x, Tensor residual) {
        Tensor g;
        try (Tensor h = proj.forward(p, x)) {          // [B, T, 2*inner] = (value, gate)
            g = geglu(p, h);                            // [B, T, inner]
        }
        try {
            return out.forward(p, g, residual, 1f);     // [B, T, dim]
        } finally {
            g.close();
        }
    }
}
