package dev.unet4j.core.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Optional;
import java.util.Set;

/**
 * The process's umask as the kernel reports it ({@code Umask:} in {@code /proc/self/status}, Linux 4.7+): the truth
 * the modes of written files are checked against. Empty elsewhere.
 */
public final class Umask {
    private Umask() {
    }

    public static Optional<Integer> current() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return Optional.empty();
        return Files.readAllLines(status).stream().filter(l -> l.startsWith("Umask:"))
                .map(l -> Integer.parseInt(l.substring("Umask:".length()).strip(), 8)).findFirst();
    }

    /** The mode bits of {@code path} as an octal number (e.g. 0644). */
    public static int mode(Path path) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path);
        int mode = 0;
        for (PosixFilePermission p : PosixFilePermission.values()) {
            if (perms.contains(p)) mode |= 1 << (8 - p.ordinal()); // OWNER_READ = 0400 ... OTHERS_EXECUTE = 0001
        }
        return mode;
    }
}
