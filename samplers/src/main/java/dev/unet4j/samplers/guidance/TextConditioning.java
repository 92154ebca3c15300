package dev.unet4j.samplers.guidance;

import java.util.Arrays;
import java.util.Objects;

/** {@code encoder_hidden_states} [batch, tokens, dim] (e.g. CLIP text embeddings), float32 row-major. */
public record TextConditioning(float[] data, int[] shape) implements Conditioning {
    public TextConditioning {
        Objects.requireNonNull(data, "data");
        if (shape.length != 3) throw new IllegalArgumentException("encoder_hidden_states must be [batch, tokens, dim], got "
                + Arrays.toString(shape));
        if ((long) shape[0] * shape[1] * shape[2] != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not match " + data.length + " values");
        }
    }

    @Override
    public int batchSize() {
        return shape[0];
    }

    @Override
    public Conditioning concat(Conditioning other) {
        if (!(other instanceof TextConditioning t) || t.shape[1] != shape[1] || t.shape[2] != shape[2]) {
            throw new IllegalArgumentException("cannot stack " + this + " with " + other);
        }
        float[] out = Arrays.copyOf(data, data.length + t.data.length);
        System.arraycopy(t.data, 0, out, data.length, t.data.length);
        return new TextConditioning(out, new int[] {shape[0] + t.shape[0], shape[1], shape[2]});
    }

    @Override
    public String toString() {
        return "TextConditioning" + Arrays.toString(shape);
    }
}
