package dev.unet4j.core.io;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.testing.Umask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Written files and folders get the mode the umask gives (0666 / 0777 less the umask), as a shell redirection's
 * would, though they are written to a temporary sibling and renamed ({@link Files#createTempFile} makes 0600).
 */
class OutputModeTest {
    @TempDir
    Path dir;

    /** Writes x.safetensors, x.png and a folder into {@code args[0]} (run in a child JVM under another umask). */
    public static void main(String[] args) throws IOException {
        write(Path.of(args[0]));
    }

    private static void write(Path dir) throws IOException {
        new SafetensorsWriter().add("x", new float[]{1, 2}, 2).write(dir.resolve("x.safetensors"));
        PngWriter.write(new Image(1, 1, 1, new byte[]{7}), dir.resolve("x.png"));
        TempPaths.release(TempPaths.createDirectory(dir, "out-"));
    }

    private static void assertModes(Path dir, int umask) throws IOException {
        String file = Integer.toOctalString(0666 & ~umask);
        assertEquals(file, Integer.toOctalString(Umask.mode(dir.resolve("x.safetensors"))), "safetensors, umask " + Integer.toOctalString(umask));
        assertEquals(file, Integer.toOctalString(Umask.mode(dir.resolve("x.png"))), "png, umask " + Integer.toOctalString(umask));
        try (var s = Files.list(dir)) {
            var entries = s.toList();
            assertEquals(3, entries.size(), "no temporary files left: " + entries);
            Path folder = entries.stream().filter(Files::isDirectory).findFirst().orElseThrow();
            assertEquals(Integer.toOctalString(0777 & ~umask), Integer.toOctalString(Umask.mode(folder)), "folder");
        }
    }

    @Test
    void writtenFilesGetThisProcesssUmaskMode() throws IOException {
        var umask = Umask.current();
        assumeTrue(umask.isPresent(), "no /proc/self/status umask on this system");
        write(dir);
        assertModes(dir, umask.get());
    }

    /** Under umask 002 (group-writable), where neither 0600 temporary files nor a fixed 0644 would pass. */
    @Test
    void writtenFilesFollowAnotherUmask() throws Exception {
        assumeTrue(Umask.current().isPresent() && Files.isExecutable(Path.of("/bin/sh")), "needs /proc and /bin/sh");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder("/bin/sh", "-c", "umask 002 && exec \"$0\" -cp \"$1\" " + OutputModeTest.class.getName() + " \"$2\"",
                java, System.getProperty("java.class.path"), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertModes(dir, 0002);
    }
}
