package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Dense;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * transformers' {@code CLIPAttention} (eager): {@code q_proj/k_proj/v_proj/out_proj} with biases, scores
 * {@code head_dim^-0.5 * Q K^T + mask}, softmax, {@code P V}. The mask is additive and per query row (causal plus
 * padding, {@code [B, T, T]}); the kernels' attention takes it as is, all heads and batch rows in one call.
 */
public final class ClipAttention {
    private final Dense q, k, v, out;
    private final int heads;
    private final float scale;

    public ClipAttention(VarBuilder vb, int width, int heads) {
        this.q = vb.linear("q_proj", width, width, true);
        this.k = vb.linear("k_proj", width, width, true);
        this.v = vb.linear("v_proj", width, width, true);
        this.out = vb.linear("out_proj", width, width, true);
        this.heads = heads;
        this.scale = (float) Math.pow(width / heads, -0.5);
    }

    /** {@code out_proj(attn(x)) + residual}; {@code bias} {@code [B, T, T]} additive. */
    public Tensor forward(Pass p, Tensor x, Tensor bias, Tensor residual) {
        Tensor a;
        try (Tensor qs = q.forward(p, x);                                           // [B, T, H*D]
             Tensor ks = k.forward(p, x);
             Tensor vs = v.forward(p, x)) {
            a = p.attention(qs, ks, vs, heads, scale, bias);                        // [B, T, H*D]
        }
        try (a) {
            return out.forward(p, a, residual, 1f);                                 // [B, T, C]
        }
    }
}
