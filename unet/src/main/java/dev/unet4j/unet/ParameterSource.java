package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

import java.util.Set;

/**
 * Where a model's parameters come from: a checkpoint ({@link #of(dev.unet4j.core.checkpoint.WeightSource)}) or anything that
 * can answer a request by name (seeded random weights for benchmarks). The builder asks for every parameter with the
 * shape it expects and reports every missing, mis-shaped and unrequested tensor in one exception.
 */
public interface ParameterSource {

    /**
     * The tensor {@code name} as a standalone float32 tensor the caller closes, or null if the source has no such
     * tensor. {@code expectedShape} is what the model needs; sources that store the shape return theirs (the builder
     * checks it), generating sources may use it.
     */
    Tensor load(String name, long[] expectedShape);

    /** Every name the source holds (those never requested are reported as unexpected); empty for generating sources. */
    Set<String> names();

    /** Shape of {@code name} (for reporting unexpected tensors); the default loads it. */
    default long[] shapeOf(String name) {
        try (Tensor t = load(name, new long[0])) {
            return t == null ? null : t.shape();
        }
    }

    /** A checkpoint (one file or shards); tensors of any float dtype are decoded to float32. */
    static ParameterSource of(dev.unet4j.core.checkpoint.WeightSource weights) {
        return new CheckpointParameterSource(weights);
    }
}
