package dev.unet4j.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Locates the golden data in {@code ../shared} (next to the project root). Tests fail with a clear message,
 * rather than skip, when it is missing: the fixtures are the ground truth.
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** {@code ../shared}: from the {@code unet4j.shared} system property (set by the build), else searched upwards. */
    public static Path shared() {
        String prop = System.getProperty("unet4j.shared");
        if (prop != null && Files.isDirectory(Paths.get(prop, "fixtures"))) return Paths.get(prop).toAbsolutePath().normalize();
        Path dir = Paths.get("").toAbsolutePath();
        for (Path d = dir; d != null; d = d.getParent()) {
            Path cand = d.resolveSibling("shared");
            if (Files.isDirectory(cand.resolve("fixtures"))) return cand.normalize();
        }
        throw new IllegalStateException("golden fixtures not found: expected ../shared/fixtures next to the project root "
                + "(or -Dunet4j.shared=DIR); searched upwards from " + dir);
    }

    /** {@code ../shared/fixtures/<name>}, which must exist. */
    public static Path fixture(String name) {
        Path p = shared().resolve("fixtures").resolve(name);
        if (!Files.exists(p)) throw new IllegalStateException("missing fixture " + p);
        return p;
    }

    /** {@code ../shared/models/<name>}, which must exist. */
    public static Path model(String name) {
        Path p = shared().resolve("models").resolve(name);
        if (!Files.exists(p)) throw new IllegalStateException("missing model " + p);
        return p;
    }
}
