package dev.unet4j.unet;

import java.util.Arrays;

/**
 * The {@code timestep} argument of a diffusers UNet call: one value for the whole batch or one per batch item, with
 * the Python/torch type it would have had, because the two model classes treat types differently
 * (see {@link TimestepRule}): {@code UNet2DModel} truncates a Python float to an integer, {@code UNet2DConditionModel}
 * keeps it as float64. Every value is finally cast to float32 before the sinusoid, as torch does.
 *
 * @param values one value, or one per batch item
 * @param type   what diffusers would have received
 */
public record Timestep(double[] values, Type type) {

    /** The Python/torch type of the timestep argument. */
    public enum Type {
        /** A Python {@code int}. */
        PYTHON_INT,
        /** A Python {@code float}: truncated by UNet2DModel, float64 in UNet2DConditionModel. */
        PYTHON_FLOAT,
        /** An int64 tensor (DDIM, DDPM, EDM schedulers). */
        INT64,
        /** A float32 tensor (Euler). */
        FLOAT32,
        /** A float64 tensor (Heun on CPU). */
        FLOAT64
    }

    public Timestep {
        if (values == null || values.length == 0) throw new IllegalArgumentException("timestep needs at least one value");
        values = values.clone();
        if (type == null) throw new IllegalArgumentException("timestep type is required");
        if (type == Type.PYTHON_INT || type == Type.PYTHON_FLOAT) {
            if (values.length != 1) throw new IllegalArgumentException("a Python scalar timestep has one value, got " + values.length);
        }
        for (double v : values) {
            if (!Double.isFinite(v)) throw new IllegalArgumentException("timestep values must be finite: " + Arrays.toString(values));
            if ((type == Type.INT64 || type == Type.PYTHON_INT) && v != Math.rint(v)) {
                throw new IllegalArgumentException("integer timestep with fractional value " + v);
            }
        }
    }

    /** A Python int. */
    public static Timestep of(long t) {
        return new Timestep(new double[]{t}, Type.PYTHON_INT);
    }

    /** A Python float. */
    public static Timestep of(double t) {
        return new Timestep(new double[]{t}, Type.PYTHON_FLOAT);
    }

    /** An int64 tensor of one value or one per batch item. */
    public static Timestep int64(long... t) {
        return new Timestep(Arrays.stream(t).asDoubleStream().toArray(), Type.INT64);
    }

    /** A float32 tensor of one value or one per batch item. */
    public static Timestep float32(float... t) {
        double[] d = new double[t.length];
        for (int i = 0; i < t.length; i++) d[i] = t[i];
        return new Timestep(d, Type.FLOAT32);
    }

    /** A float64 tensor of one value or one per batch item. */
    public static Timestep float64(double... t) {
        return new Timestep(t, Type.FLOAT64);
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    /** Number of values (1 or the batch size). */
    public int count() {
        return values.length;
    }

    /**
     * The values diffusers feeds to the projection for a batch of {@code batch}, after {@code rule}'s type handling
     * and broadcasting (1 value or {@code batch} values; anything else is refused, as torch's expand refuses it).
     */
    public double[] resolve(int batch, TimestepRule rule) {
        if (values.length != 1 && values.length != batch) {
            throw new IllegalArgumentException("timestep has " + values.length + " values; expected 1 or the batch size " + batch);
        }
        double[] out = new double[batch];
        for (int b = 0; b < batch; b++) {
            double v = values[values.length == 1 ? 0 : b];
            if (type == Type.PYTHON_FLOAT && rule == TimestepRule.TRUNCATE_PYTHON_FLOAT) v = (double) (long) v;
            out[b] = v;
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Timestep t && t.type == type && Arrays.equals(t.values, values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(values) + type.hashCode();
    }

    @Override
    public String toString() {
        return "Timestep" + Arrays.toString(values) + "(" + type + ")";
    }
}
