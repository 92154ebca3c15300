package dev.unet4j.e2e.reliability;

import dev.unet4j.cli.Main;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI run in-process through {@link Main#run}, stdout and stderr captured. */
final class CliRun {
    static {
        System.setProperty("unet4j.cache", Path.of("target", "unet4j-cache").toAbsolutePath().toString());
    }

    record Result(int code, String out, String err) {
        /** Exit 1, at most three stderr lines, no stack trace, every fragment in stderr, no "wrote" on stdout. */
        Result refused(String... fragments) {
            assertEquals(1, code, "exit code; stderr: " + err);
            assertTrue(err.strip().split("\\R").length <= 3, "at most 3 lines on stderr, got:\n" + err);
            assertFalse(err.contains("\tat ") || err.contains("Exception:") || err.contains("Error:"), "no stack trace:\n" + err);
            for (String f : fragments) assertTrue(err.contains(f), "stderr should mention '" + f + "':\n" + err);
            assertFalse(out.contains("wrote"), out);
            return this;
        }
    }

    private CliRun() {
    }

    static Result run(Object... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true),
                Arrays.stream(args).map(String::valueOf).toArray(String[]::new));
        return new Result(code, out.toString(), err.toString());
    }
}
