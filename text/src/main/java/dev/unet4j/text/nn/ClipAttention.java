package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Dense;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * transformers' {@code CLIPAttention} (eager): {@code q_proj/k_proj/v_proj/out_proj} with biases, scores
 * {@code head_dim^-0.5 * Q K^T + mask}, softmax, {@code P V}. The mask is additive and per query row (causal plus
 * padding, {@code [B, T, T]}), which the kernels' fused attention (a per-key mask) cannot take, so each batch row runs
 * as matmul, add, softmax, matmul over strided head views {@code [H, T, D]}.
 */
public final class ClipAttention {
    private final Dense q, k, v, out;
    private final int heads, headDim;
    private final float scale;

    public ClipAttention(VarBuilder vb, int width, int heads) {
        this.q = vb.linear("q_proj", width, width, true);
        this.k = vb.linear("k_proj", width, width, true);
        this.v = vb.linear("v_proj", width, width, true);
        this.out = vb.linear("out_proj", width, width, true);
        this.heads = heads;
        this.headDim = width / heads;
        this.scale = (float) Math.pow(headDim, -0.5);
    }

    /** {@code out_proj(attn(x)) + residual}; {@code bias} {@code [B, T, T]} additive. */
    public Tensor forward(Pass p, Tensor x, Tensor bias, Tensor residual) {
        long b = x.dim(0), t = x.dim(1), c = x.dim(2);
        Tensor a = Tensor.allocate(p.ws.allocator(), b, t, c);                     // [B, T, H*D]
        try {
            try (Tensor qs = q.forward(p, x);                                       // [B, T, H*D]
                 Tensor ks = k.forward(p, x);
                 Tensor vs = v.forward(p, x)) {
                for (long i = 0; i < b; i++) {
                    Tensor qh = heads(qs, i, t), kh = heads(ks, i, t), vh = heads(vs, i, t); // [H, T, D]
                    Tensor rowBias = bias.narrow(0, i, 1);                           // [1, T, T]
                    Tensor o;
                    try (Tensor scores = p.k.matmul(p.ws, qh, kh, true, scale);      // [H, T, T]
                         Tensor masked = p.k.add(p.ws, scores, rowBias, 1f, 1f);
                         Tensor probs = p.k.softmax(p.ws, masked)) {
                        o = p.k.matmul(p.ws, probs, vh, false, 1f);                  // [H, T, D]
                    }
                    try (o) {
                        heads(a, i, t).copyFrom(o);
                    }
                }
                p.addMacs(2 * b * heads * t * t * headDim);
            }
            return out.forward(p, a, residual, 1f);                                 // [B, T, C]
        } finally {
            a.close();
        }
    }

    /** Batch row {@code i} of {@code [B, T, H*D]} as {@code [H, T, D]} (a view; channels must have stride 1). */
    private Tensor heads(Tensor x, long i, long t) {
        if (x.stride(2) != 1) throw new IllegalStateException("attention input " + x + " needs unit channel stride");
        return x.view(new long[]{heads, t, headDim}, new long[]{headDim, x.stride(1), 1}, x.offset() + i * x.stride(0));
    }
}
