package dev.unet4j.cli;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.Latents;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** Reading the user's input safetensors files with messages that name the file, the tensor and what was expected. */
final class TensorFile implements AutoCloseable {
    private final SafetensorsFile file;
    private final String role;

    private TensorFile(SafetensorsFile file, String role) {
        this.file = file;
        this.role = role;
    }

    /** Opens {@code path} given as {@code role} (the option name, for messages). */
    static TensorFile open(Path path, String role) throws IOException {
        if (!Files.exists(path)) throw new UserException(role + ": file not found: " + path);
        if (!Files.isRegularFile(path)) throw new UserException(role + ": not a file: " + path);
        return new TensorFile(SafetensorsFile.open(path), role);
    }

    Path path() {
        return file.path();
    }

    /** Refuses tensors whose names {@code allowed} rejects, listing {@code expected}. */
    TensorFile allowOnly(Predicate<String> allowed, String expected) {
        List<String> bad = file.names().stream().filter(allowed.negate()).toList();
        if (!bad.isEmpty()) {
            throw new UserException(role + " " + file.path() + ": unexpected tensor" + (bad.size() == 1 ? " " : "s ")
                    + names(bad) + "; expected " + expected);
        }
        return this;
    }

    TensorFile allowOnly(Collection<String> names) {
        return allowOnly(names::contains, String.join(", ", names));
    }

    boolean has(String name) {
        return file.contains(name);
    }

    TensorInfo info(String name) throws IOException {
        if (!file.contains(name)) throw new UserException(role + " " + file.path() + ": no tensor '" + name + "' (has " + names(file.names()) + ")");
        return file.info(name);
    }

    /** A float tensor of rank {@code rank} (any float dtype, decoded to float32). */
    Tensor floatTensor(String name, int rank) throws IOException {
        TensorInfo info = info(name);
        if (!info.dtype().isFloatingPoint()) {
            throw new UserException(role + " " + file.path() + ": tensor '" + name + "' is " + info.dtype() + ", expected a float dtype");
        }
        if (rank >= 0 && info.rank() != rank) {
            throw new UserException(role + " " + file.path() + ": tensor '" + name + "' has shape " + Arrays.toString(info.shape())
                    + ", expected " + rank + " dimensions");
        }
        Tensor t = file.load(name);
        long bad = 0, first = -1;
        java.nio.FloatBuffer b = t.rawBuffer();
        for (int i = b.position(); i < b.limit(); i++) {
            if (!Float.isFinite(b.get(i)) && bad++ == 0) first = i - b.position();
        }
        if (bad > 0) {
            t.close();
            throw new UserException(role + " " + file.path() + ": tensor '" + name + "' has " + bad + " NaN or infinite values"
                    + " (the first at flat index " + first + "); every result computed from it would be NaN");
        }
        return t;
    }

    /** A float tensor as heap latents. */
    Latents latents(String name, int rank) throws IOException {
        try (Tensor t = floatTensor(name, rank)) {
            long[] s = t.shape();
            int[] shape = new int[s.length];
            for (int i = 0; i < s.length; i++) shape[i] = Math.toIntExact(s[i]);
            return new Latents(t.toFloatArray(), shape);
        }
    }

    long[] longs(String name) throws IOException {
        TensorInfo info = info(name);
        if (!info.dtype().isInteger()) {
            throw new UserException(role + " " + file.path() + ": tensor '" + name + "' is " + info.dtype() + ", expected an integer dtype");
        }
        return file.readLongs(name);
    }

    /** An F64 tensor's values. */
    double[] doubles(String name) throws IOException {
        if (info(name).dtype() != DType.F64) throw new UserException(role + " " + file.path() + ": tensor '" + name + "' is not F64");
        java.nio.DoubleBuffer b = java.nio.ByteBuffer.wrap(file.readBytes(name)).order(java.nio.ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
        double[] out = new double[b.remaining()];
        b.get(out);
        return out;
    }

    DType dtype(String name) throws IOException {
        return info(name).dtype();
    }

    List<String> names() {
        return file.names();
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    private static String names(Collection<String> names) {
        List<String> l = List.copyOf(names);
        String shown = String.join(", ", l.subList(0, Math.min(5, l.size())));
        return l.size() > 5 ? shown + ", ... (" + l.size() + " in all)" : shown;
    }

    /** Writes float tensors atomically, in the given order. */
    static void write(Path target, Map<String, Latents> tensors) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.INSERTION);
        for (Map.Entry<String, Latents> e : tensors.entrySet()) {
            int[] s = e.getValue().shape();
            w.add(e.getKey(), e.getValue().data(), Tensor.toLong(s));
        }
        Path parent = target.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        w.write(target);
    }

    static Map<String, Latents> single(String name, Latents value) {
        Map<String, Latents> m = new LinkedHashMap<>();
        m.put(name, value);
        return m;
    }
}
