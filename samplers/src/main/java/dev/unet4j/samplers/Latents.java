package dev.unet4j.samplers;

import dev.unet4j.core.random.TorchGenerator;

import java.util.Arrays;
import java.util.Objects;

/**
 * A small float32 tensor on the heap (row-major), batch first: latents, model outputs and noise. Sampler arithmetic
 * is done on these arrays. The record is a view over its arrays: it does not copy them, and neither do its
 * accessors; methods that return new latents never alias the receiver's data.
 */
public record Latents(float[] data, int[] shape) {
    public Latents {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0) throw new IllegalArgumentException("latents need a batch dimension, got shape []");
        if (numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + numel(shape)
                    + " values but data has " + data.length);
        }
    }

    public static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("too large: " + Arrays.toString(shape));
        return (int) n;
    }

    /** Standard normal draws of the given shape, as {@code torch.randn(shape, generator=g)} returns them (row-major). */
    public static Latents randn(TorchGenerator g, int... shape) {
        return new Latents(g.randn(numel(shape)), shape);
    }

    public static Latents zeros(int... shape) {
        return new Latents(new float[numel(shape)], shape.clone());
    }

    public int batch() {
        return shape[0];
    }

    /** Values per batch item. */
    public int itemSize() {
        return shape[0] == 0 ? 0 : data.length / shape[0];
    }

    public int numel() {
        return data.length;
    }

    public Latents copy() {
        return new Latents(data.clone(), shape.clone());
    }

    /** A new tensor of the same shape with other data. */
    public Latents withData(float[] newData) {
        return new Latents(newData, shape.clone());
    }

    /** Shape of one batch item with batch size 1. */
    public int[] itemShape() {
        int[] s = shape.clone();
        s[0] = 1;
        return s;
    }

    /** Items [from, to) along the batch axis, copied. */
    public Latents slice(int from, int to) {
        if (from < 0 || to > batch() || from > to) {
            throw new IndexOutOfBoundsException("batch slice [" + from + ", " + to + ") of " + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        s[0] = to - from;
        return new Latents(Arrays.copyOfRange(data, from * itemSize(), to * itemSize()), s);
    }

    /** torch.cat(parts, dim=0). */
    public static Latents concat(Latents... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("nothing to concatenate");
        int[] s = parts[0].shape.clone();
        int batch = 0;
        for (Latents p : parts) {
            if (!Arrays.equals(Arrays.copyOfRange(p.shape, 1, p.shape.length), Arrays.copyOfRange(s, 1, s.length))) {
                throw new IllegalArgumentException("cannot concatenate " + Arrays.toString(p.shape) + " with "
                        + Arrays.toString(parts[0].shape) + " along the batch axis");
            }
            batch += p.batch();
        }
        s[0] = batch;
        float[] out = new float[numel(s)];
        int pos = 0;
        for (Latents p : parts) {
            System.arraycopy(p.data, 0, out, pos, p.data.length);
            pos += p.data.length;
        }
        return new Latents(out, s);
    }

    /** Throws unless {@code other} has this shape; {@code what} names the other tensor in the message. */
    public void requireSameShape(Latents other, String what) {
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(other.shape) + ", expected "
                    + Arrays.toString(shape));
        }
    }

    public float maxAbs() {
        float m = 0;
        for (float v : data) m = Math.max(m, Math.abs(v));
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Latents l && Arrays.equals(shape, l.shape) && Arrays.equals(data, l.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Latents" + Arrays.toString(shape);
    }
}
