package dev.unet4j.samplers;

import dev.unet4j.core.testing.MiniSafetensors;

import java.nio.file.Path;

/** The samplers' view of a golden safetensors file: core's test reader, with tensors as {@link Latents}. */
public final class SafetensorsTestFile {
    private final MiniSafetensors file;

    private SafetensorsTestFile(MiniSafetensors file) {
        this.file = file;
    }

    public static SafetensorsTestFile open(Path path) {
        return new SafetensorsTestFile(MiniSafetensors.read(path));
    }

    public int[] shape(String name) {
        return file.get(name).intShape();
    }

    public Latents latents(String name) {
        return new Latents(floats(name), shape(name));
    }

    public float[] floats(String name) {
        return file.get(name).floats();
    }

    public long[] longs(String name) {
        return file.get(name).longs();
    }
}
