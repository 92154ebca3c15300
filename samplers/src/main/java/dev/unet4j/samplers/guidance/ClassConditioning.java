package dev.unet4j.samplers.guidance;

import java.util.Arrays;

/** Class labels, one per batch item (UNet {@code class_labels}). */
public record ClassConditioning(long[] labels) implements Conditioning {
    public ClassConditioning {
        labels = labels.clone();
    }

    /** The same label for {@code batch} items (e.g. the null class for the unconditional half). */
    public static ClassConditioning repeat(long label, int batch) {
        long[] l = new long[batch];
        Arrays.fill(l, label);
        return new ClassConditioning(l);
    }

    @Override
    public int batchSize() {
        return labels.length;
    }

    @Override
    public Conditioning concat(Conditioning other) {
        if (!(other instanceof ClassConditioning c)) throw new IllegalArgumentException("cannot stack " + this + " with " + other);
        long[] out = Arrays.copyOf(labels, labels.length + c.labels.length);
        System.arraycopy(c.labels, 0, out, labels.length, c.labels.length);
        return new ClassConditioning(out);
    }

    @Override
    public String toString() {
        return "ClassConditioning" + Arrays.toString(labels);
    }
}
