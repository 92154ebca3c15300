package dev.unet4j.core.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Temporary files and folders of atomic writes, deleted by a JVM shutdown hook if the process ends (Ctrl-C, SIGTERM,
 * {@code System.exit}) while they exist: {@code finally} blocks do not run on a signal, so without it an interrupted
 * write leaves {@code .name.*.tmp} files and {@code .name-*} folders behind. Writers {@link #track} a path right after
 * creating it and {@link #release} it once it has been renamed into place or deleted.
 */
public final class TempPaths {
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempPaths::deleteAll, "unet4j-temp-cleanup"));
    }

    private TempPaths() {
    }

    /**
     * Creates and {@link #track}s a new empty file {@code <prefix><random><suffix>} in {@code dir} the way any program
     * creates its output (mode 0666 less the umask), not owner-only as {@link Files#createTempFile} does: it becomes
     * the output by a rename, so its mode is the output's.
     */
    public static Path createFile(Path dir, String prefix, String suffix) throws IOException {
        return createUnique(dir, prefix, suffix, Files::createFile);
    }

    /** As {@link #createFile}, a new empty folder {@code <prefix><random>} (mode 0777 less the umask). */
    public static Path createDirectory(Path dir, String prefix) throws IOException {
        return createUnique(dir, prefix, "", Files::createDirectory);
    }

    private interface Create {
        Path at(Path path, java.nio.file.attribute.FileAttribute<?>... attributes) throws IOException;
    }

    /** {@code create} at {@code <prefix><random><suffix>}, another random name when one exists already. */
    private static Path createUnique(Path dir, String prefix, String suffix, Create create) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + suffix);
            try {
                return track(create.at(p));
            } catch (FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            }
        }
    }

    /** Deletes {@code path} (a file or a whole folder) at shutdown unless {@link #release}d first; returns it. */
    public static Path track(Path path) {
        LIVE.add(path.toAbsolutePath());
        return path;
    }

    public static void release(Path path) {
        LIVE.remove(path.toAbsolutePath());
    }

    /** The paths that would be deleted at shutdown now (for tests). */
    public static Set<Path> tracked() {
        return Set.copyOf(LIVE);
    }

    /** Deletes {@code path} and, for a folder, everything under it; a missing path is fine. */
    public static void deleteTree(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(path)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static void deleteAll() {
        for (Path p : LIVE) {
            try {
                deleteTree(p);
            } catch (IOException | RuntimeException e) {
                // best effort while the JVM exits
            }
        }
    }
}
