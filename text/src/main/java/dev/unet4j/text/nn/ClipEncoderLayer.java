package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.LayerNorm;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

/** transformers' {@code CLIPEncoderLayer}, pre-LN: {@code h += self_attn(layer_norm1(h))}, {@code h += mlp(layer_norm2(h))}. */
public final class ClipEncoderLayer {
    private final LayerNorm norm1, norm2;
    private final ClipAttention attention;
    private final ClipMlp mlp;

    public ClipEncoderLayer(VarBuilder vb, int width, int heads, int inner, ClipActivation act, double eps) {
        this.norm1 = vb.layerNorm("layer_norm1", width, eps);
        this.attention = new ClipAttention(vb.pp("self_attn"), width, heads);
        this.norm2 = vb.layerNorm("layer_norm2", width, eps);
        this.mlp = new ClipMlp(vb.pp("mlp"), width, inner, act);
    }

    /** The layer's output (a new tensor); {@code h} is borrowed. */
    public Tensor forward(Pass p, Tensor h, Tensor bias) {
        Tensor afterAttention;
        try (Tensor n1 = norm1.forward(p, h)) {                      // [B, T, C]
            afterAttention = attention.forward(p, n1, bias, h);      // h + attn
        }
        try (afterAttention; Tensor n2 = norm2.forward(p, afterAttention)) {
            return mlp.forward(p, n2, afterAttention);                // h + mlp
        }
    }
}
