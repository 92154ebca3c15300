package dev.unet4j.pipeline.checkpoint;

import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.ParameterSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * One component of a single file under diffusers' names: each request is answered from the stored key its
 * {@link TensorRef} names (decoded to float32, cut where OpenCLIP fuses or transposes), and attention weights stored
 * as {@code [O, I, 1, 1]} / {@code [O, I, 1]} convolutions are squeezed to the {@code [O, I]} linear asked for (as
 * diffusers' {@code assign_to_checkpoint}). File keys of the component that map to no diffusers name stay in
 * {@link #names()} under their own name, so the builder lists them as unexpected.
 */
final class RenamedSource implements ParameterSource {
    private final WeightSource file;
    private final Map<String, TensorRef> refs;
    private final Set<String> names;

    RenamedSource(WeightSource file, Map<String, TensorRef> refs, Set<String> unmapped) {
        this.file = file;
        this.refs = Map.copyOf(refs);
        Set<String> n = new LinkedHashSet<>(refs.keySet());
        n.addAll(unmapped);
        this.names = Set.copyOf(n);
    }

    /** The diffusers name to stored key map (tests compare it with the fixture's key map). */
    Map<String, TensorRef> refs() {
        return refs;
    }

    @Override
    public Tensor load(String name, long[] expectedShape) {
        TensorRef r = refs.get(name);
        if (r == null) return null;
        Tensor t;
        try {
            t = file.load(r.key(), Allocator.direct());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + r.key() + " (for " + name + ") from " + file, e);
        }
        try {
            Tensor cut = cut(r, t);
            if (cut != t) t.close();
            return squeezed(cut, expectedShape);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
    }

    private static Tensor cut(TensorRef r, Tensor t) {
        long[] s = t.shape();
        switch (r.cut()) {
            case NONE:
                return t;
            case ROWS: {
                if (s.length < 1 || s[0] % r.parts() != 0) {
                    throw new IllegalArgumentException(r.key() + ": shape " + java.util.Arrays.toString(s) + " cannot be split into "
                            + r.parts() + " equal row blocks (q, k, v)");
                }
                float[] all = t.toFloatArray();
                int rows = (int) (s[0] / r.parts());
                int per = all.length / (int) s[0];
                float[] part = java.util.Arrays.copyOfRange(all, r.part() * rows * per, (r.part() + 1) * rows * per);
                long[] shape = s.clone();
                shape[0] = rows;
                return Tensor.of(part, shape); // [D, ...] of [3D, ...]
            }
            case TRANSPOSE: {
                if (s.length != 2) throw new IllegalArgumentException(r.key() + ": expected a matrix to transpose, got shape " + java.util.Arrays.toString(s));
                float[] a = t.toFloatArray();
                int m = (int) s[0], n = (int) s[1];
                float[] b = new float[a.length];
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) b[j * m + i] = a[i * n + j];
                return Tensor.of(b, (long) n, m); // [P, D] of [D, P]
            }
            default:
                throw new AssertionError(r.cut());
        }
    }

    private static Tensor squeezed(Tensor t, long[] expected) {
        long[] s = t.shape();
        if (expected.length != 2 || s.length < 3 || s[0] != expected[0] || s[1] != expected[1]) return t;
        for (int i = 2; i < s.length; i++) if (s[i] != 1) return t;
        Tensor c = t.isContiguous() ? t : t.copy(Allocator.direct());
        if (c != t) t.close();
        return c.moveTo(expected.clone(), Tensor.rowMajorStrides(expected), c.offset());
    }

    @Override
    public long[] shapeOf(String name) {
        TensorRef r = refs.get(name);
        try {
            long[] s = file.info(r == null ? name : r.key()).shape();
            if (r == null) return s;
            if (r.cut() == TensorRef.Cut.ROWS && s.length > 0) {
                s = s.clone();
                s[0] /= r.parts();
            } else if (r.cut() == TensorRef.Cut.TRANSPOSE && s.length == 2) {
                s = new long[] {s[1], s[0]};
            }
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException("reading the header of " + name + " in " + file, e);
        }
    }

    @Override
    public Set<String> names() {
        return names;
    }
}
