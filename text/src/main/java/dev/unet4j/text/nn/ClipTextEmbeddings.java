package dev.unet4j.text.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.VarBuilder;

import java.nio.FloatBuffer;

/**
 * transformers' {@code CLIPTextEmbeddings}: {@code token_embedding.weight[input_ids] + position_embedding.weight[0..T)}.
 * A row gather, done here in Java (the kernels have no embedding op); the float32 sum is the same as torch's.
 */
public final class ClipTextEmbeddings {
    private final Tensor tokens;     // [V, C]
    private final Tensor positions;  // [P, C]
    private final int vocab, width, maxPositions;

    public ClipTextEmbeddings(VarBuilder vb, int vocab, int width, int maxPositions) {
        this.tokens = vb.pp("token_embedding").kept("weight", vocab, width);
        this.positions = vb.pp("position_embedding").kept("weight", maxPositions, width);
        this.vocab = vocab;
        this.width = width;
        this.maxPositions = maxPositions;
    }

    /** {@code ids} validated by the caller (rectangular, ids in range, length at most the positions). */
    public Tensor forward(Pass p, int[][] ids) {
        int b = ids.length, t = ids[0].length;
        if (t > maxPositions) throw new IllegalArgumentException(t + " tokens; the encoder has " + maxPositions + " positions");
        float[] out = new float[b * t * width];
        float[] row = new float[width], pos = new float[width];
        FloatBuffer tok = tokens.rawBuffer(), ps = positions.rawBuffer();
        for (int j = 0; j < t; j++) {
            ps.get(j * width, pos, 0, width);
            for (int i = 0; i < b; i++) {
                int id = ids[i][j];
                if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary 0.." + (vocab - 1));
                tok.get(id * width, row, 0, width);
                int o = (i * t + j) * width;
                for (int c = 0; c < width; c++) out[o + c] = row[c] + pos[c];
            }
        }
        Tensor e = Tensor.allocate(p.ws.allocator(), b, t, width);    // [B, T, C]
        e.setFrom(out);
        return e;
    }
}
