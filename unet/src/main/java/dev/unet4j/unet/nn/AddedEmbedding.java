package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.TimestepEmbedding;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * SDXL's {@code addition_embed_type="text_time"}: each time id goes through {@code add_time_proj} (a sinusoid of
 * {@code addition_time_embed_dim}), the results are flattened per item and appended to the pooled text embeds, and
 * {@code add_embedding} (a timestep MLP) maps that to the time embedding width; the result is added to the time
 * embedding. The node's input is that concatenation {@code [B, projection_class_embeddings_input_dim]}.
 */
public final class AddedEmbedding extends Node {

    /**
     * @param timeDim      addition_time_embed_dim
     * @param flipSinToCos the model's flip_sin_to_cos
     * @param freqShift    the model's freq_shift
     * @param inDim        projection_class_embeddings_input_dim
     */
    public record Spec(int timeDim, boolean flipSinToCos, double freqShift, int inDim) {
    }

    private final Spec spec;
    private final TimestepMlp mlp;

    public AddedEmbedding(VarBuilder vb, Spec s, int tembDim) {
        super(vb.path(), NodeLevel.STEM, NodeKind.ADD_EMBEDDING);
        this.spec = s;
        mlp = new TimestepMlp(vb, s.inDim, tembDim, Activation.SILU, null, null);
    }

    public Spec spec() {
        return spec;
    }

    /** {@code cat([text_embeds, add_time_proj(time_ids.flatten()).reshape(B, -1)], -1)} as a pass tensor. */
    Tensor addEmbeds(Pass p, Tensor textEmbeds, Tensor timeIds) {
        int b = (int) textEmbeds.dim(0), d = (int) textEmbeds.dim(1), n = (int) timeIds.dim(1);
        float[] ids = timeIds.toFloatArray();
        double[] t = new double[ids.length];
        for (int i = 0; i < ids.length; i++) t[i] = ids[i];
        float[] timeEmb = TimestepEmbedding.sinusoidal(t, spec.timeDim, spec.flipSinToCos, spec.freqShift); // [B*n, timeDim]
        float[] text = textEmbeds.toFloatArray();
        int width = d + n * spec.timeDim;
        float[] out = new float[b * width];
        for (int i = 0; i < b; i++) {
            System.arraycopy(text, i * d, out, i * width, d);
            System.arraycopy(timeEmb, i * n * spec.timeDim, out, i * width + d, n * spec.timeDim);
        }
        Tensor e = Tensor.allocate(p.ws.allocator(), b, width);   // [B, D + n * timeDim]
        e.setFrom(out);
        return e;
    }

    @Override
    protected Tensor forward(Pass p, Tensor addEmbeds) {
        return mlp.forward(p, addEmbeds, null);                    // [B, temb]
    }
}
