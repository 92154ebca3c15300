package dev.unet4j.unet;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.Set;

/** {@link ParameterSource} over one safetensors file. */
final class SafetensorsParameterSource implements ParameterSource {
    private final SafetensorsFile file;

    SafetensorsParameterSource(SafetensorsFile file) {
        this.file = file;
    }

    @Override
    public Tensor load(String name, long[] expectedShape) {
        if (!file.contains(name)) return null;
        try {
            return file.load(name, Allocator.direct());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + name + " from " + file.path(), e);
        }
    }

    @Override
    public Set<String> names() {
        return new LinkedHashSet<>(file.names());
    }
}
