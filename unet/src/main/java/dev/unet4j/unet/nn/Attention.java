package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.AttentionInfo;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * diffusers {@code Attention} with {@code AttnProcessor}: over an image (UNet2DModel's attention blocks: own group
 * norm, {@code (out + x) / rescale_output_factor}) or over tokens (a transformer block's attn1/attn2: no norm, no
 * residual). Keys {@code to_q/to_k/to_v/to_out.0}, also read under the legacy names {@code query/key/value/proj_attn}
 * of blocks built with {@code _from_deprecated_attn_block}.
 */
public final class Attention extends Node {

    /**
     * @param queryDim         channels of the input
     * @param crossDim         channels of the encoder hidden states for cross-attention, 0 for self-attention
     * @param heads            heads
     * @param headDim          channels per head
     * @param qkvBias          q/k/v projections have biases
     * @param normGroups       groups of the own GroupNorm, 0 for none
     * @param normEps          its eps
     * @param residual         {@code residual_connection}
     * @param rescale          {@code rescale_output_factor}
     * @param encoderMask      applies the encoder attention mask (attn2)
     * @param legacyKeys       accept {@code query/key/value/proj_attn}
     */
    public record Spec(int queryDim, int crossDim, int heads, int headDim, boolean qkvBias, int normGroups,
                       double normEps, boolean residual, double rescale, boolean encoderMask, boolean legacyKeys) {
        int inner() {
            return heads * headDim;
        }
    }

    private final Spec spec;
    private final GroupNorm groupNorm;
    private final Dense toQ, toK, toV, toOut;
    private final float scale;
    private final AttentionInfo info;

    public Attention(VarBuilder vb, NodeLevel level, NodeKind kind, Spec s) {
        super(vb.path(), level, kind);
        this.spec = s;
        int kv = s.crossDim > 0 ? s.crossDim : s.queryDim;
        groupNorm = s.normGroups > 0 ? vb.groupNorm("group_norm", s.normGroups, s.queryDim, s.normEps) : null;
        toQ = vb.linear("to_q", s.queryDim, s.inner(), s.qkvBias, s.legacyKeys ? vb.ppAlias("to_q", "query") : null);
        toK = vb.linear("to_k", kv, s.inner(), s.qkvBias, s.legacyKeys ? vb.ppAlias("to_k", "key") : null);
        toV = vb.linear("to_v", kv, s.inner(), s.qkvBias, s.legacyKeys ? vb.ppAlias("to_v", "value") : null);
        toOut = vb.linear("to_out.0", s.inner(), s.queryDim, true, s.legacyKeys ? vb.ppAlias("to_out.0", "proj_attn") : null);
        scale = (float) (1.0 / Math.sqrt(s.headDim));
        info = new AttentionInfo(path, s.heads, s.headDim, 1.0 / Math.sqrt(s.headDim), s.queryDim, kv, s.crossDim > 0,
                s.qkvBias, s.normGroups, s.residual, s.rescale);
        vb.registerAttention(info);
    }

    public AttentionInfo info() {
        return info;
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return run(p, x, null);
    }

    @Override
    protected Tensor forwardPlus(Pass p, Tensor x, Tensor residual) {
        return run(p, x, residual);
    }

    /** q, k, v and out projections and the two attention products, as {@link Dense} and {@link Pass#attention} count them. */
    @Override
    protected long macsFor(Pass p, Tensor x) {
        long b = x.dim(0), t = x.rank() == 4 ? x.dim(2) * x.dim(3) : x.dim(1);
        long tk = spec.crossDim > 0 ? p.context.dim(1) : t, kv = spec.crossDim > 0 ? spec.crossDim : spec.queryDim;
        long inner = spec.inner();
        return 2 * b * t * spec.queryDim * inner + 2 * b * tk * kv * inner + 2 * b * t * tk * inner;
    }

    private Tensor run(Pass p, Tensor x, Tensor extraResidual) {
        boolean image = x.rank() == 4;
        Tensor normed = groupNorm == null ? null : groupNorm.forward(p, x, false);           // [B, C, H, W]
        Tensor src = image ? Layouts.tokensView(normed == null ? x : normed) : (normed == null ? x : normed); // [B, T, C]
        Tensor kvSrc = src;
        if (spec.crossDim > 0) {
            if (p.context == null) throw new IllegalArgumentException(path + " is a cross-attention: encoder_hidden_states are required");
            kvSrc = p.context;                                                               // [B, Tk, D]
        }
        Tensor a;
        try (Tensor q = toQ.forward(p, src);                                                 // [B, Tq, H*Dh]
             Tensor k = toK.forward(p, kvSrc);                                               // [B, Tk, H*Dh]
             Tensor v = toV.forward(p, kvSrc)) {
            a = p.attention(q, k, v, spec.heads, scale, spec.encoderMask ? p.contextBias : null); // [B, Tq, H*Dh]
        } finally {
            if (normed != null) normed.close();
        }
        try {
            Tensor residual = spec.residual ? (image ? Layouts.tokensView(x) : x) : extraResidual;
            if (spec.residual && extraResidual != null) throw new IllegalStateException(path + ": two residuals");
            Tensor out = toOut.forward(p, a, residual, (float) (1.0 / spec.rescale));       // [B, Tq, C]
            return image ? Layouts.toImage(out, x.dim(2), x.dim(3)) : out;                  // [B, C, H, W] | [B, T, C]
        } finally {
            a.close();
        }
    }
}
