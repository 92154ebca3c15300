package dev.unet4j.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Optional;

/**
 * Locates the golden data. The tests read the repository's own copy, {@code testdata/} at the project root (a
 * clone alone passes its tests); {@code ../shared} next to the project root is where that copy comes from
 * ({@code scripts/sync-testdata}), and {@code TestdataInStepTest} checks the two agree when it is there. Tests fail
 * with a clear message, rather than skip, when the data is missing: the fixtures are the ground truth.
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** The repository's {@code testdata/}: from the {@code unet4j.testdata} system property (set by the build), else searched upwards. */
    public static Path shared() {
        return locate("unet4j.testdata", "testdata").orElseThrow(() -> new IllegalStateException(
                "golden data not found: expected testdata/fixtures at the project root (or -Dunet4j.testdata=DIR); "
                        + "searched upwards from " + Paths.get("").toAbsolutePath()));
    }

    /** {@code ../shared} next to the project root, when this machine has it (the source of {@code testdata/}). */
    public static Optional<Path> upstream() {
        return locate("unet4j.shared", "../shared");
    }

    private static Optional<Path> locate(String property, String relative) {
        String prop = System.getProperty(property);
        if (prop != null && !prop.isEmpty() && Files.isDirectory(Paths.get(prop, "fixtures"))) {
            return Optional.of(Paths.get(prop).toAbsolutePath().normalize());
        }
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path cand = d.resolve(relative).normalize();
            if (Files.isDirectory(cand.resolve("fixtures")) && Files.isDirectory(d.resolve(".mvn"))) return Optional.of(cand);
        }
        return Optional.empty();
    }

    /** {@code testdata/fixtures/<name>}, which must exist. */
    public static Path fixture(String name) {
        Path p = shared().resolve("fixtures").resolve(name);
        if (!Files.exists(p)) throw new IllegalStateException("missing fixture " + p + " (run scripts/sync-testdata?)");
        return p;
    }

    /** {@code testdata/models/<name>}, which must exist. */
    public static Path model(String name) {
        Path p = shared().resolve("models").resolve(name);
        if (!Files.exists(p)) throw new IllegalStateException("missing model " + p + " (run scripts/sync-testdata?)");
        return p;
    }
}
