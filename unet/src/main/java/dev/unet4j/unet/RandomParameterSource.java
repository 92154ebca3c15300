package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

import java.util.Set;
import java.util.SplittableRandom;

/**
 * Seeded random parameters of whatever shape the model asks for (benchmarks, tests of configurations without a
 * checkpoint). The recipe is the fixtures': weights {@code U(+-sqrt(3/fan_in))}, biases {@code 0.1 N(0,1)}, norm
 * weights {@code 1 + 0.2 N(0,1)}, embeddings {@code N(0,1)}. Each tensor's values depend only on the seed and its name,
 * so the same model is generated whatever order layers are built in.
 */
public final class RandomParameterSource implements ParameterSource {
    private final long seed;

    public RandomParameterSource(long seed) {
        this.seed = seed;
    }

    @Override
    public Tensor load(String name, long[] shape) {
        if (shape.length == 0) return null;
        SplittableRandom r = new SplittableRandom(seed ^ (name.hashCode() * 0x9E3779B97F4A7C15L));
        long n = Tensor.numel(shape);
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(name + " too large");
        float[] v = new float[(int) n];
        boolean bias = name.endsWith(".bias");
        boolean norm = shape.length == 1 && name.endsWith(".weight") && (name.contains("norm"));
        boolean variance = name.endsWith("running_var"); // a BatchNorm's running variance: positive, as trained
        boolean embedding = name.startsWith("class_embedding.weight") || name.equals("time_proj.weight");
        double bound = shape.length >= 2 ? Math.sqrt(3.0 / (n / shape[0])) : 1.0;
        for (int i = 0; i < v.length; i++) {
            if (bias) v[i] = (float) (0.1 * gaussian(r));
            else if (norm) v[i] = (float) (1 + 0.2 * gaussian(r));
            else if (embedding) v[i] = (float) gaussian(r);
            else v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
            if (variance) v[i] = 0.5f + Math.abs(v[i]);
        }
        return Tensor.of(v, shape);
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), w = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
    }

    @Override
    public Set<String> names() {
        return Set.of();
    }
}
