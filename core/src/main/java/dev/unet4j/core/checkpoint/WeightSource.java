package dev.unet4j.core.checkpoint;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of one model, over one safetensors file or many shards, by name. A name must live in exactly one
 * file; with a shard index, every indexed name must be in the shard the index names and every stored tensor must
 * be indexed. Reads are thread-safe; {@link #close} closes every file.
 */
public final class WeightSource implements AutoCloseable {
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName; // file order, then header order

    private WeightSource(List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.files = files;
        this.byName = byName;
    }

    /** Opens the weight files a {@link ModelLocator} found, checking them against the shard index if there is one. */
    public static WeightSource open(ModelFiles model) throws IOException {
        WeightSource ws = open(model.weightFiles());
        if (model.isSharded()) {
            try {
                ws.checkAgainstIndex(model);
            } catch (IOException | RuntimeException e) {
                ws.close();
                throw e;
            }
        }
        return ws;
    }

    /** Opens {@code paths} (at least one); a tensor name found in two of them is refused. */
    public static WeightSource open(List<Path> paths) throws IOException {
        if (paths.isEmpty()) throw new ModelException("no weight files given");
        List<SafetensorsFile> opened = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                opened.add(f);
                for (String name : f.names()) {
                    SafetensorsFile previous = byName.putIfAbsent(name, f);
                    if (previous != null) {
                        throw new ModelException("tensor '" + name + "' is stored twice: in " + previous.path()
                                + " and in " + f.path());
                    }
                }
            }
            return new WeightSource(List.copyOf(opened), Collections.unmodifiableMap(byName));
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile f : opened) {
                try {
                    f.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    private void checkAgainstIndex(ModelFiles model) throws ModelException {
        Path index = model.weightIndex().orElseThrow();
        for (Map.Entry<String, Path> e : model.weightMap().entrySet()) {
            SafetensorsFile f = byName.get(e.getKey());
            if (f == null) {
                throw new ModelException("shard index " + index + " maps tensor '" + e.getKey() + "' to "
                        + e.getValue().getFileName() + ", which does not contain it");
            }
            if (!f.path().equals(e.getValue())) {
                throw new ModelException("shard index " + index + " maps tensor '" + e.getKey() + "' to "
                        + e.getValue().getFileName() + ", but it is stored in " + f.path().getFileName());
            }
        }
        for (String name : byName.keySet()) {
            if (!model.weightMap().containsKey(name)) {
                throw new ModelException("tensor '" + name + "' in " + byName.get(name).path()
                        + " is missing from the shard index " + index);
            }
        }
    }

    /** All tensor names: file by file, each in header order. */
    public Set<String> names() {
        return byName.keySet();
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public TensorInfo info(String name) throws IOException {
        return file(name).info(name);
    }

    /** Loads {@code name} as float32 (see {@link SafetensorsFile#load}); the caller closes it. */
    public Tensor load(String name, Allocator allocator) throws IOException {
        return file(name).load(name, allocator);
    }

    /** Integer tensor {@code name} as longs. */
    public long[] readLongs(String name) throws IOException {
        return file(name).readLongs(name);
    }

    /** The file that stores {@code name}. */
    public Path fileOf(String name) throws ModelException {
        return file(name).path();
    }

    /** The open file that stores {@code name} (raw access: slices, windows, metadata). */
    public SafetensorsFile file(String name) throws ModelException {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new ModelException("no tensor '" + name + "' in " + describeFiles() + closestNames(name));
        }
        return f;
    }

    /** The open files, in the order given. */
    public List<SafetensorsFile> files() {
        return files;
    }

    private String describeFiles() {
        if (files.size() == 1) return files.get(0).path().toString();
        return files.size() + " shards in " + files.get(0).path().getParent();
    }

    /** Up to three stored names under the longest dotted prefix {@code name} shares with them: a hint for mapping bugs. */
    private String closestNames(String name) {
        String prefix = name;
        for (int dot = prefix.lastIndexOf('.'); dot > 0; dot = prefix.lastIndexOf('.')) {
            prefix = prefix.substring(0, dot);
            TreeSet<String> hits = new TreeSet<>();
            for (String n : byName.keySet()) {
                if (n.startsWith(prefix + ".")) hits.add(n);
            }
            if (!hits.isEmpty()) {
                List<String> few = new ArrayList<>(hits).subList(0, Math.min(3, hits.size()));
                return "; stored names under '" + prefix + ".': " + few + (hits.size() > 3 ? " and " + (hits.size() - 3) + " more" : "");
            }
        }
        return "";
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return "WeightSource[" + byName.size() + " tensors in " + describeFiles() + "]";
    }
}
