package dev.unet4j.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The process's native threads as Linux lists them in {@code /proc/self/task}: the truth OpenMP team sizes are
 * checked against (libgomp's workers carry their creator's thread name; Linux keeps its first 15 characters).
 */
public final class NativeThreads {
    private NativeThreads() {
    }

    /** Native threads of this process named {@code name} (-1 where /proc is not there). */
    public static long named(String name) {
        Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks)) return -1;
        try (Stream<Path> s = Files.list(tasks)) {
            return s.filter(p -> {
                try {
                    return Files.readString(p.resolve("comm")).strip().equals(name);
                } catch (IOException e) {
                    return false; // the thread ended meanwhile
                }
            }).count();
        } catch (IOException e) {
            return -1;
        }
    }
}
