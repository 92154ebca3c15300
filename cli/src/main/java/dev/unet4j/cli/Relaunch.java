package dev.unet4j.cli;

import dev.unet4j.core.kernels.dnnl.OpenMpDefaults;
import dev.unet4j.core.kernels.dnnl.ThreadLimit;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * oneDNN's OpenMP runtime (libgomp) reads {@code OMP_NUM_THREADS} once, when the native library loads, and a JVM
 * cannot change its own environment. So when {@code java -jar unet4j.jar} is started for a command that computes with
 * {@code --threads T} and {@code OMP_NUM_THREADS} is not already {@code T}, {@link Main#main} runs the same command
 * once more in a child JVM with {@code OMP_NUM_THREADS=T} (same java, JVM options, class path and arguments; output
 * inherited; its exit code returned).
 *
 * <p>The same holds for libgomp's waiting: when the user set neither {@code OMP_WAIT_POLICY} nor
 * {@code GOMP_SPINCOUNT}, a computing command on Java 17-21 runs in a child with the busy-core default
 * {@link OpenMpDefaults} ({@code GOMP_SPINCOUNT=3000}: within a few percent of the best setting on idle and on busy
 * cores, where libgomp's own default made the README grid 5.9x slower; docs/threads.md). Java 22+ sets it in-process
 * ({@link OpenMpDefaults#beforeNativeLoad}), so no child is needed there. {@code bin/unet4j} exports both itself, so
 * it never relaunches. {@code UNET4J_NO_RELAUNCH=1} turns this off; a JVM started with a debugger or agent is never
 * relaunched (the child would fight over its port).
 */
final class Relaunch {
    static final String MARKER = "UNET4J_RELAUNCHED";
    static final String OPT_OUT = "UNET4J_NO_RELAUNCH";
    private static final Set<String> COMPUTING = Set.of("generate", "forward", "bench", "inspect", "segment", "serve");

    private Relaunch() {
    }

    /** The environment variables the command needs that this process lacks (empty: run here). */
    static Map<String, String> missingEnvironment(String[] args, Map<String, String> env) {
        return missingEnvironment(args, env, Runtime.version().feature() >= 22);
    }

    /** As above; {@code inProcessDefaults}: this JVM sets the OpenMP waiting default itself (Java 22+). */
    static Map<String, String> missingEnvironment(String[] args, Map<String, String> env, boolean inProcessDefaults) {
        Map<String, String> need = new HashMap<>();
        if (env.containsKey(MARKER) || "1".equals(env.get(OPT_OUT))) return need;
        String command = null;
        for (String a : args) {
            if (a.equals("--help") || a.equals("-h") || a.equals("--version") || a.equals("-V")) return need;
            if (command == null && !a.startsWith("-")) command = a;
        }
        if (command == null || !COMPUTING.contains(command)) return need;
        threads(args).filter(t -> !t.equals(env.get("OMP_NUM_THREADS"))).ifPresent(t -> need.put("OMP_NUM_THREADS", t));
        if (!inProcessDefaults && OpenMpDefaults.isUnset(env)) need.put(OpenMpDefaults.VARIABLE, OpenMpDefaults.VALUE);
        return need;
    }

    /**
     * The value of {@code --threads T} / {@code --threads=T} when it is a positive integer within
     * {@link ThreadLimit#max()} (others are refused in this process by {@link CommonOptions#checkThreads}).
     */
    static Optional<String> threads(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String v = args[i].startsWith("--threads=") ? args[i].substring("--threads=".length())
                    : args[i].equals("--threads") && i + 1 < args.length ? args[i + 1] : null;
            if (v != null && v.matches("[1-9]\\d{0,4}") && Integer.parseInt(v) <= ThreadLimit.max()) return Optional.of(v);
        }
        return Optional.empty();
    }

    /** Runs the command in a child JVM when the environment must change; empty when it should run in this one. */
    static OptionalInt ifNeeded(String[] args) {
        Map<String, String> need = missingEnvironment(args, System.getenv());
        if (need.isEmpty()) return OptionalInt.empty();
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String a : jvmArgs) {
            if (a.startsWith("-agentlib") || a.startsWith("-javaagent") || a.startsWith("-Xrunjdwp") || a.startsWith("-Xdebug")) {
                return OptionalInt.empty();
            }
        }
        Path java = ProcessHandle.current().info().command().map(Path::of)
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java"));
        if (!Files.isExecutable(java)) return OptionalInt.empty();
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().putAll(need);
        pb.environment().put(MARKER, "1");
        Process child;
        try {
            child = pb.start();
        } catch (IOException e) {
            return OptionalInt.empty(); // run in this process, as configured
        }
        Thread killer = new Thread(child::destroy, "unet4j-relaunch-cleanup");
        Runtime.getRuntime().addShutdownHook(killer);
        try {
            return OptionalInt.of(child.waitFor());
        } catch (InterruptedException e) {
            child.destroy();
            Thread.currentThread().interrupt();
            return OptionalInt.of(130);
        }
    }
}
