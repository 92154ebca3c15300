package dev.unet4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the CLI in-process through {@link Main#run}, capturing stdout and stderr. */
final class Cli {
    static {
        // the demo model is extracted under the build folder, not the user's home
        System.setProperty("unet4j.cache", Path.of("target", "unet4j-cache").toAbsolutePath().toString());
    }

    record Result(int code, String out, String err) {
        List<String> errLines() {
            return err.isBlank() ? List.of() : Arrays.asList(err.strip().split("\\R"));
        }

        /** Exit code {@code expected}, at most three stderr lines, no stack trace, and {@code fragment} in stderr. */
        Result assertError(int expected, String fragment) {
            assertEquals(expected, code, "exit code; stderr: " + err);
            assertTrue(errLines().size() <= 3, "at most 3 lines on stderr, got:\n" + err);
            assertFalse(err.contains("\tat ") || err.contains("Exception:"), "no stack trace:\n" + err);
            assertTrue(err.contains(fragment), "stderr should mention '" + fragment + "':\n" + err);
            return this;
        }

        Result assertOk() {
            assertEquals(0, code, "exit code; stderr: " + err);
            return this;
        }
    }

    private Cli() {
    }

    /** {@code unet4j generate --out out args...}, which must succeed; the file it wrote. */
    static byte[] generate(Path out, Object... args) throws IOException {
        Object[] all = new Object[args.length + 3];
        all[0] = "generate";
        all[1] = "--out";
        all[2] = out;
        System.arraycopy(args, 0, all, 3, args.length);
        run(all).assertOk();
        return Files.readAllBytes(out);
    }

    static Result run(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] a = Arrays.stream(args).map(String::valueOf).toArray(String[]::new);
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), a);
        return new Result(code, out.toString(), err.toString());
    }
}
