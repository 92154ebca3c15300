package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.AttentionInfo;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.NormInfo;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.WeightMismatchException;
import dev.unet4j.unet.WeightMismatchException.Problem;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One model build: hands out parameters by name to {@link VarBuilder}s, turns weights into prepared layers through the
 * {@link LayerFactory}, records every problem (missing, mis-shaped) and what the model ends up owning. {@link #finish}
 * adds the never-requested names and throws one {@link WeightMismatchException} listing everything.
 */
public final class Weights {
    private final ParameterSource source;
    private final String sourceName;
    final LayerFactory factory;
    private final Set<String> requested = new LinkedHashSet<>();
    private final List<Problem> problems = new ArrayList<>();
    private final List<AutoCloseable> owned = new ArrayList<>();
    private final List<NormInfo> norms = new ArrayList<>();
    private final List<AttentionInfo> attentions = new ArrayList<>();
    private long parameters;
    private long placeholderFloats;

    /**
     * Zero stand-ins for missing or mis-shaped tensors let the build go on and list every problem; their total is
     * capped so that a hostile or broken config (block_out_channels of 2^30) cannot make the builder allocate from its
     * numbers alone: past the cap the problems found so far are thrown.
     */
    static final long PLACEHOLDER_LIMIT_FLOATS = 1L << 25;

    public Weights(ParameterSource source, String sourceName, LayerFactory factory) {
        this.source = source;
        this.sourceName = sourceName;
        this.factory = factory;
    }

    public VarBuilder root() {
        return new VarBuilder(this, "", null);
    }

    /** Loads {@code key} (or {@code legacyKey}) with {@code shape}; a zero placeholder after recording a problem. */
    Tensor load(String key, String legacyKey, long[] shape) {
        requested.add(key);
        Tensor t = source.load(key, shape);
        if (t == null && legacyKey != null) {
            requested.add(legacyKey);
            t = source.load(legacyKey, shape);
        }
        if (t == null) {
            problems.add(new Problem(key, shape.clone(), null));
            return placeholder(key, shape);
        }
        if (!Arrays.equals(t.shape(), shape)) {
            problems.add(new Problem(key, shape.clone(), t.shape()));
            t.close();
            return placeholder(key, shape);
        }
        String bad = nonFinite(t);
        if (bad != null) problems.add(new Problem(key, shape.clone(), t.shape(), bad));
        parameters += t.numel();
        return t;
    }

    /**
     * Null when every value of {@code t} is finite, else the count and the first index: a NaN or infinite weight
     * (a corrupt or badly converted checkpoint) turns every output into NaN, a silently black image.
     */
    static String nonFinite(Tensor t) {
        java.nio.FloatBuffer b = t.rawBuffer();
        long count = 0, first = -1;
        float firstValue = 0;
        for (int i = b.position(), n = b.limit(); i < n; i++) {
            float v = b.get(i);
            if (!Float.isFinite(v)) {
                if (count++ == 0) {
                    first = i - b.position();
                    firstValue = v;
                }
            }
        }
        return count == 0 ? null : count + " of " + t.numel() + " values are NaN or infinite (the first, " + firstValue
                + ", at flat index " + first + ")";
    }

    private Tensor placeholder(String key, long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d <= 0 || n > PLACEHOLDER_LIMIT_FLOATS / d) {
                n = Long.MAX_VALUE;
                break;
            }
            n *= d;
        }
        placeholderFloats = n == Long.MAX_VALUE ? n : placeholderFloats + n;
        if (placeholderFloats > PLACEHOLDER_LIMIT_FLOATS) {
            abandon();
            throw new WeightMismatchException(sourceName + " (listing stopped at " + key + ": the config asks for "
                    + "tensors far larger than the checkpoint holds)", problems);
        }
        return Tensor.zeros(shape);
    }

    <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    void norm(NormInfo info) {
        norms.add(info);
    }

    void attention(AttentionInfo info) {
        attentions.add(info);
    }

    /** Everything the built model owns, or a {@link WeightMismatchException} (after freeing it all). */
    public Resources finish() {
        for (String name : source.names()) {
            if (!requested.contains(name)) problems.add(new Problem(name, null, shapeOf(name)));
        }
        Resources r = new Resources(owned, norms, attentions, parameters);
        if (!problems.isEmpty()) {
            r.close();
            throw new WeightMismatchException(sourceName, problems);
        }
        return r;
    }

    /**
     * Runs a model's constructor over these weights; when it fails for another reason than a weight mismatch (which
     * frees everything itself), what was built so far is freed before the exception goes on.
     */
    public <T> T build(java.util.function.Function<Weights, T> constructor) {
        try {
            return constructor.apply(this);
        } catch (RuntimeException e) {
            if (!(e instanceof WeightMismatchException)) abandon();
            throw e;
        }
    }

    /** Frees what was built so far (the build failed for another reason). */
    public void abandon() {
        new Resources(owned, norms, attentions, parameters).close();
    }

    private long[] shapeOf(String name) {
        long[] s = source.shapeOf(name);
        return s == null ? new long[0] : s;
    }

    /** The native resources and module tables of a built model. */
    public record Resources(List<AutoCloseable> owned, List<NormInfo> norms, List<AttentionInfo> attentions,
                            long parameters) implements AutoCloseable {
        public Resources {
            owned = List.copyOf(owned);
            norms = List.copyOf(norms);
            attentions = List.copyOf(attentions);
        }

        @Override
        public void close() {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + c, e);
                }
            }
        }
    }
}
