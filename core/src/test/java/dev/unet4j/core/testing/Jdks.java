package dev.unet4j.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Other installed JDKs, for tests of what only newer Java versions can do (run in a child JVM). */
public final class Jdks {
    private Jdks() {
    }

    /** A java launcher of version 22 or later: {@code -Dunet4j.jdk22=JAVA_HOME}, this JVM, or one in {@code /usr/lib/jvm}. */
    public static Optional<Path> java22() throws IOException {
        String prop = System.getProperty("unet4j.jdk22", "");
        if (!prop.isBlank()) return Optional.of(Path.of(prop, "bin", "java"));
        if (Runtime.version().feature() >= 22) return Optional.of(Path.of(System.getProperty("java.home"), "bin", "java"));
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) return Optional.empty();
        try (Stream<Path> s = Files.list(jvms)) {
            return s.filter(h -> feature(h) >= 22).map(h -> h.resolve("bin").resolve("java")).filter(Files::isExecutable).findFirst();
        }
    }

    /** The feature release named in {@code home/release} (JAVA_VERSION="25.0.1"), or 0. */
    private static int feature(Path home) {
        try {
            Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(home.resolve("release")));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
