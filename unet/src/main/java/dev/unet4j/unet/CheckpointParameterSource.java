package dev.unet4j.unet;

import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;

/** {@link ParameterSource} over a checkpoint's {@link WeightSource} (one safetensors file or shards). */
final class CheckpointParameterSource implements ParameterSource {
    private final WeightSource weights;

    CheckpointParameterSource(WeightSource weights) {
        this.weights = weights;
    }

    @Override
    public Tensor load(String name, long[] expectedShape) {
        if (!weights.contains(name)) return null;
        try {
            return weights.load(name, Allocator.direct());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + name + " from " + weights, e);
        }
    }

    @Override
    public long[] shapeOf(String name) {
        try {
            return weights.info(name).shape();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the header of " + name + " in " + weights, e);
        }
    }

    @Override
    public Set<String> names() {
        return weights.names();
    }
}
