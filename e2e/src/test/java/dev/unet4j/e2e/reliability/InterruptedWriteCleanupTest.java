package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.TempPaths;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Ctrl-C during a write: {@code finally} blocks do not run on a signal, so the temporary folders and files of atomic
 * writes are deleted by {@link TempPaths}' shutdown hook (tested with a real SIGINT and SIGTERM on a child JVM), and a
 * finished quantize or generate leaves none tracked.
 */
class InterruptedWriteCleanupTest {
    @TempDir
    Path dir;

    private static List<String> names(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aSignalledProcessLeavesNoTemporaryFiles() throws Exception {
        for (String signal : new String[]{"INT", "TERM"}) {
            Path d = Files.createDirectories(dir.resolve(signal));
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), InterruptedWriteCleanupMain.class.getName(), d.toString())
                    .redirectErrorStream(true);
            Process p = pb.start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line = r.readLine();
                assertTrue(line != null && line.startsWith("ready "), String.valueOf(line));
                assertEquals(3, names(d).size(), names(d).toString()); // .q-*, .out.png.*.tmp, finished.png
                Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start();
                assertEquals(0, kill.waitFor());
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not exit on SIG" + signal);
            } finally {
                p.destroyForcibly();
            }
            assertEquals(List.of("finished.png"), names(d), "after SIG" + signal);
        }
    }

    @Test
    void finishedWritesLeaveNothingTracked() throws Exception {
        Path out = dir.resolve("q");
        CliRun.Result r = CliRun.run("quantize", "--model", Fixtures.model("digits-16"), "--quant", "int8", "--out", out, "--quiet");
        assertEquals(0, r.code(), r.err());
        CliRun.Result g = CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 2, "--steps", 2,
                "--out", dir.resolve("x.png"), "--quiet");
        assertEquals(0, g.code(), g.err());
        assertEquals(List.of("q", "x.png"), names(dir));
        assertEquals(List.of("config.json", "diffusion_pytorch_model.safetensors", "scheduler_config.json"), names(out));
        assertTrue(TempPaths.tracked().stream().noneMatch(p -> p.startsWith(dir)), TempPaths.tracked().toString());
    }
}
