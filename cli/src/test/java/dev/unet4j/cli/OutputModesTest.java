package dev.unet4j.cli;

import dev.unet4j.core.testing.Umask;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** What the CLI writes gets the mode the umask gives, like any program's output (was 0600 for .safetensors). */
class OutputModesTest {
    @TempDir
    Path dir;

    @Test
    void generatedAndQuantizedOutputsGetTheUmasksMode() throws IOException {
        var umask = Umask.current();
        assumeTrue(umask.isPresent(), "no /proc/self/status umask on this system");
        String file = Integer.toOctalString(0666 & ~umask.get());
        String folder = Integer.toOctalString(0777 & ~umask.get());

        Path latents = dir.resolve("final.safetensors");
        Path png = dir.resolve("one.png");
        Cli.run("generate", "--class-label", 1, "--steps", 2, "--out", latents).assertOk();
        Cli.run("generate", "--class-label", 1, "--steps", 2, "--out", png).assertOk();
        assertEquals(file, Integer.toOctalString(Umask.mode(latents)), "generate --out .safetensors");
        assertEquals(file, Integer.toOctalString(Umask.mode(png)), "generate --out .png");

        Path q = dir.resolve("int8");
        Cli.run("quantize", "--quant", "int8", "--out", q).assertOk();
        assertEquals(folder, Integer.toOctalString(Umask.mode(q)), "quantize --out folder");
        try (Stream<Path> s = Files.list(q)) {
            for (Path f : s.toList()) assertEquals(file, Integer.toOctalString(Umask.mode(f)), f.getFileName().toString());
        }
    }
}
