package dev.unet4j.e2e.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a child JVM on this test's class path, so a case that used to crash the JVM (SIGSEGV, exit
 * 134/139) fails its test instead of taking the whole suite down.
 */
final class ChildJvm {
    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
        }
    }

    private ChildJvm() {
    }

    static Result run(Map<String, String> env, long timeoutSeconds, Class<?> main, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx512m");
        // a crash report goes to the temp folder, not into the module folder the tests run in
        cmd.add("-XX:ErrorFile=" + Path.of(System.getProperty("java.io.tmpdir"), "unet4j-child-hs_err_%p.log"));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("child-out", ".txt"), err = Files.createTempFile("child-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
            pb.environment().put("UNET4J_NO_RELAUNCH", "1");
            pb.environment().remove("OMP_NUM_THREADS");
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("child JVM " + main.getSimpleName() + " ran past " + timeoutSeconds + " s:\n"
                        + Files.readString(out, StandardCharsets.UTF_8) + Files.readString(err, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
