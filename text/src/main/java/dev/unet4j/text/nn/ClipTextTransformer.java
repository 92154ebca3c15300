package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Dense;
import dev.unet4j.unet.nn.LayerNorm;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code CLIPTextTransformer} ({@code text_model.*}): embeddings, {@code encoder.layers.*} with a causal
 * mask (plus the padding mask when given), {@code final_layer_norm}, and the pooled row; with
 * {@code text_projection} ({@code CLIPTextModelWithProjection}) also the projected pooled row.
 */
public final class ClipTextTransformer {
    /** What one forward produced; every tensor is new and owned by the receiver. */
    public record Result(Tensor lastHiddenState, List<Tensor> hiddenStates, Tensor pooled, Tensor projected) {
    }

    /** The large negative transformers adds for a dropped score ({@code torch.finfo(float32).min}). */
    static final float MASKED = -Float.MAX_VALUE;

    private final ClipTextEmbeddings embeddings;
    private final List<ClipEncoderLayer> layers = new ArrayList<>();
    private final LayerNorm finalNorm;
    private final Dense projection;   // null without text_projection
    private final boolean legacyPooling;
    private final int eosTokenId;

    /**
     * @param vb            the checkpoint root (keys {@code text_model.*}, {@code text_projection.weight})
     * @param projectionDim the {@code text_projection} width, 0 for none
     * @param eosTokenId    {@code eos_token_id} of the config (2 = legacy pooling at the largest id)
     */
    public ClipTextTransformer(VarBuilder vb, int vocab, int width, int layers, int heads, int inner, int positions,
                               ClipActivation act, double eps, int projectionDim, int eosTokenId) {
        VarBuilder tm = vb.pp("text_model");
        this.embeddings = new ClipTextEmbeddings(tm.pp("embeddings"), vocab, width, positions);
        VarBuilder enc = tm.pp("encoder").pp("layers");
        for (int i = 0; i < layers; i++) this.layers.add(new ClipEncoderLayer(enc.pp(i), width, heads, inner, act, eps));
        this.finalNorm = tm.layerNorm("final_layer_norm", width, eps);
        this.projection = projectionDim > 0 ? vb.linear("text_projection", width, projectionDim, false) : null;
        this.legacyPooling = eosTokenId == 2;
        this.eosTokenId = eosTokenId;
    }

    /**
     * One forward over validated {@code ids} {@code [B][T]} and {@code mask} ({@code [B][T]} of 0/1, or null).
     *
     * @param keepHiddenStates return {@code hidden_states} (embeddings, then each layer's output before the final norm)
     */
    public Result forward(Pass p, int[][] ids, int[][] mask, boolean keepHiddenStates) {
        List<Tensor> hidden = new ArrayList<>();
        Tensor h = null, last = null, pooled = null;
        try (Tensor bias = attentionBias(p, ids.length, ids[0].length, mask)) {  // [B, T, T]
            h = embeddings.forward(p, ids);                                        // [B, T, C]
            for (ClipEncoderLayer layer : layers) {
                Tensor next = layer.forward(p, h, bias);
                if (keepHiddenStates) hidden.add(h);
                else h.close();
                h = next;
            }
            last = finalNorm.forward(p, h);                                         // [B, T, C]
            if (keepHiddenStates) hidden.add(h);
            else h.close();
            h = null;
            pooled = pool(p, last, ids);                                            // [B, C]
            Tensor projected = projection == null ? null : projection.forward(p, pooled); // [B, P]
            return new Result(last, List.copyOf(hidden), pooled, projected);
        } catch (RuntimeException e) {
            for (Tensor t : hidden) t.close();
            if (h != null) h.close();
            if (last != null) last.close();
            if (pooled != null) pooled.close();
            throw e;
        }
    }

    /** {@code final_layer_norm} of any hidden state (CLIP skip: {@code final_layer_norm(hidden_states[-k-1])}). */
    public Tensor finalLayerNorm(Pass p, Tensor hidden) {
        return finalNorm.forward(p, hidden);
    }

    /**
     * transformers' 4.4x rule: legacy configs ({@code eos_token_id == 2}) take the row at {@code argmax(input_ids)}
     * (the first EOS 49407 of tokenizer output), others the first position of {@code eos_token_id} (0 if absent).
     */
    public int poolingPosition(int[] ids) {
        int best = 0;
        for (int j = 0; j < ids.length; j++) {
            if (legacyPooling ? ids[j] > ids[best] : ids[j] == eosTokenId) {
                best = j;
                if (!legacyPooling) break;
            }
        }
        return best;
    }

    private Tensor pool(Pass p, Tensor last, int[][] ids) {
        int b = ids.length, t = ids[0].length, c = (int) last.dim(2);
        float[] all = last.toFloatArray();
        float[] rows = new float[b * c];
        for (int i = 0; i < b; i++) System.arraycopy(all, (i * t + poolingPosition(ids[i])) * c, rows, i * c, c);
        Tensor pooled = Tensor.allocate(p.ws.allocator(), b, c);
        pooled.setFrom(rows);
        return pooled;
    }

    /** Causal mask plus, when given, the padding mask on keys; summed in float32 as transformers does. */
    private static Tensor attentionBias(Pass p, int b, int t, int[][] mask) {
        float[] bias = new float[b * t * t];
        for (int i = 0; i < b; i++) {
            for (int q = 0; q < t; q++) {
                for (int k = 0; k < t; k++) {
                    float v = k > q ? MASKED : 0f;
                    if (mask != null && mask[i][k] == 0) v += MASKED;
                    bias[(i * t + q) * t + k] = v;
                }
            }
        }
        Tensor out = Tensor.allocate(p.ws.allocator(), b, t, t);
        out.setFrom(bias);
        return out;
    }
}
