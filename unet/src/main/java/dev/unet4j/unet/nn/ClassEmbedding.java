package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.nio.FloatBuffer;

/**
 * {@code class_embedding}, added to the time embedding: an {@code nn.Embedding} table ({@code num_class_embeds}),
 * {@code "timestep"} (the labels go through {@code time_proj} and their own MLP), {@code "identity"},
 * {@code "projection"} (an MLP) or {@code "simple_projection"} (a linear).
 */
public final class ClassEmbedding extends Node {

    public enum Type { TABLE, TIMESTEP, IDENTITY, PROJECTION, SIMPLE_PROJECTION }

    /**
     * @param type   kind
     * @param inDim  table size (TABLE), projection input width (projections), unused otherwise
     */
    public record Spec(Type type, int inDim, Activation act) {
    }

    private final Spec spec;
    private final int dim;
    private final Tensor table;
    private final TimestepMlp mlp;
    private final Dense linear;
    private final TimeProjection timeProj;

    public ClassEmbedding(VarBuilder vb, Spec s, int dim, TimeProjection timeProj) {
        super(vb.path(), NodeLevel.STEM, NodeKind.CLASS_EMBEDDING);
        this.spec = s;
        this.dim = dim;
        this.timeProj = timeProj;
        table = s.type == Type.TABLE ? vb.kept("weight", s.inDim, dim) : null;
        mlp = switch (s.type) {
            case TIMESTEP -> new TimestepMlp(vb, timeProj.spec().outDim(), dim, s.act, null, null);
            case PROJECTION -> new TimestepMlp(vb, s.inDim, dim, s.act, null, null);
            default -> null;
        };
        linear = s.type == Type.SIMPLE_PROJECTION ? vb.linearHere(s.inDim, dim, true) : null;
    }

    /** Width of the labels this embedding expects: 0 for a {@code [B]} vector of labels. */
    public int labelWidth() {
        return switch (spec.type) {
            case TABLE, TIMESTEP -> 0;
            case IDENTITY -> dim;
            case PROJECTION, SIMPLE_PROJECTION -> spec.inDim;
        };
    }

    @Override
    protected Tensor forward(Pass p, Tensor labels) {
        switch (spec.type) {
            case TABLE: {
                float[] ids = labels.toFloatArray();
                Tensor out = Tensor.allocate(p.ws.allocator(), ids.length, dim);     // [B, dim]
                FloatBuffer src = table.rawBuffer(), dst = out.rawBuffer();
                for (int b = 0; b < ids.length; b++) {
                    long id = (long) ids[b];
                    if (id < 0 || id >= spec.inDim || id != ids[b]) {
                        out.close();
                        throw new IllegalArgumentException("class label " + ids[b] + " is not an integer in [0, " + spec.inDim + ")");
                    }
                    for (int c = 0; c < dim; c++) dst.put(b * dim + c, src.get((int) (id * dim + c)));
                }
                return out;
            }
            case TIMESTEP: {
                float[] v = labels.toFloatArray();
                double[] d = new double[v.length];
                for (int i = 0; i < v.length; i++) d[i] = v[i];
                try (Tensor proj = timeProj.project(p, d)) {
                    return mlp.forward(p, proj, null);
                }
            }
            case IDENTITY:
                return p.copyOf(labels);
            case PROJECTION:
                return mlp.forward(p, labels, null);
            default:
                return linear.forward(p, labels);
        }
    }
}
