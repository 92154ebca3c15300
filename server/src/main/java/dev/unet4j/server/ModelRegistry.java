package dev.unet4j.server;

import dev.unet4j.core.kernels.dnnl.OpenMpTeams;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The models a server answers for, loaded once at start and shared by all workers. Requests name a model; a name
 * not registered is a 400, and no request can make the server open a path.
 */
public final class ModelRegistry implements AutoCloseable {
    /** Opens a backend for a spec (the default picks by folder layout). */
    @FunctionalInterface
    public interface Loader {
        ImageBackend load(ModelSpec spec) throws IOException;
    }

    private final Map<String, ImageBackend> backends;

    private ModelRegistry(Map<String, ImageBackend> backends) {
        this.backends = backends;
    }

    /** Wraps already loaded backends (tests, embedding). */
    public static ModelRegistry of(List<ImageBackend> backends) {
        Map<String, ImageBackend> m = new LinkedHashMap<>();
        for (ImageBackend b : backends) {
            if (m.put(b.info().name(), b) != null) throw new IllegalArgumentException("model name " + b.info().name() + " registered twice");
        }
        if (m.isEmpty()) throw new IllegalArgumentException("no models registered");
        return new ModelRegistry(m);
    }

    /** Loads every spec; all problems are reported together and nothing stays loaded when one fails. */
    public static ModelRegistry load(List<ModelSpec> specs, Loader loader) throws IOException {
        // on a thread that ends afterwards: its OpenMP team would otherwise stay beside the workers' teams and
        // outnumber the cores, which slows every generation several times (OpenMpTeams)
        return OpenMpTeams.onShortLivedThread("unet4j-load", () -> loadAll(specs, loader));
    }

    private static ModelRegistry loadAll(List<ModelSpec> specs, Loader loader) throws IOException {
        List<String> problems = new ArrayList<>();
        Map<String, ImageBackend> m = new LinkedHashMap<>();
        for (ModelSpec s : specs) {
            if (m.containsKey(s.name())) {
                problems.add("model name " + s.name() + " given twice");
                continue;
            }
            if (!Files.isDirectory(s.dir())) {
                problems.add("model " + s.name() + ": folder not found: " + s.dir().toAbsolutePath());
                continue;
            }
            try {
                m.put(s.name(), loader.load(s));
            } catch (IOException | RuntimeException e) {
                problems.add("model " + s.name() + " (" + s.dir() + "): " + e.getMessage());
            }
        }
        if (specs.isEmpty()) problems.add("no models given");
        if (!problems.isEmpty()) {
            m.values().forEach(ImageBackend::close);
            throw new IOException("cannot load the models:\n  " + String.join("\n  ", problems));
        }
        return new ModelRegistry(m);
    }

    /**
     * The default loader by folder layout: a pipeline folder ({@code model_index.json}) is a
     * {@link StableDiffusionBackend}, a UNet folder a class-conditional pixel model ({@link ClassConditionalBackend}).
     */
    public static ImageBackend loadDefault(ModelSpec s) throws IOException {
        if (Files.isRegularFile(s.dir().resolve("model_index.json"))) return StableDiffusionBackend.load(s);
        return ClassConditionalBackend.load(s);
    }

    /** The backend called {@code name}; 400 naming {@code field} otherwise. */
    public ImageBackend get(String name, String field) {
        ImageBackend b = backends.get(name);
        if (b == null) {
            throw ApiException.badField(field, "unknown model '" + name + "'; registered: " + String.join(", ", backends.keySet()));
        }
        return b;
    }

    /** The first registered model (the default when a request names none). */
    public String defaultName() {
        return backends.keySet().iterator().next();
    }

    public Collection<ImageBackend> all() {
        return backends.values();
    }

    @Override
    public void close() {
        backends.values().forEach(ImageBackend::close);
    }
}
