package dev.unet4j.spark;

import dev.unet4j.core.testing.Jdks;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code spark.task.cpus} applied in-process on Java 22+: an executor JVM (a Java 22+ child, found as
 * {@code core}'s {@code IntraOpThreadsTest} finds it, running {@link InProcessThreadsProbe}) with
 * {@code OMP_NUM_THREADS=1} in its environment and {@code spark.task.cpus=2} on 2 cores generates on one pool thread
 * whose OpenMP count and team are 2, the main thread keeps 1, the settings column says so, and the images equal the
 * library's (one OpenMP thread, in this JVM).
 */
class InProcessThreadsTest {

    @BeforeAll
    static void load() throws Exception {
        Unet4jGeneratorTest.load();
    }

    @AfterAll
    static void close() {
        Unet4jGeneratorTest.close();
    }

    @Test
    void eachGenerationGetsTheTaskCpusOnThePoolThread() throws Exception {
        Optional<Path> java = Jdks.java22();
        assumeTrue(java.isPresent(), "no Java 22+ found (set -Dunet4j.jdk22=JAVA_HOME)");
        String[][] rows = {{"0", "a handwritten four", "41"}, {"1", "a handwritten nine", "42"}};
        List<String> cmd = new java.util.ArrayList<>(List.of(java.get().toString(), "--enable-native-access=ALL-UNNAMED",
                "-Dspark.task.cpus=2", "-Dspark.executor.cores=2", "-cp", System.getProperty("java.class.path"),
                InProcessThreadsProbe.class.getName(), Unet4jGeneratorTest.model.toString()));
        for (String[] r : rows) cmd.add(String.join(":", r));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "probe finished");
        assertEquals(0, p.exitValue(), out);

        Matcher pool = Pattern.compile("pool=(\\d+) computing=(\\S+) max=(\\d+) team=(-?\\d+) main=(\\d+) mainBefore=(\\d+)").matcher(out);
        assertTrue(pool.find(), out);
        assertEquals("1", pool.group(1), "2 cores / 2 cpus per task: one compute thread\n" + out);
        assertEquals(ComputePool.THREAD_NAME + "1", pool.group(2), "the generations ran on it\n" + out);
        assertEquals("2", pool.group(3), "omp_get_max_threads on the pool thread = spark.task.cpus\n" + out);
        long team = Long.parseLong(pool.group(4));
        if (team >= 0) assertEquals(2, team, "the pool thread and its one libgomp worker\n" + out);
        assertEquals("1", pool.group(6), "OMP_NUM_THREADS=1 as the JVM started\n" + out);
        assertEquals("1", pool.group(5), "a thread that did not compute keeps it\n" + out);

        for (String[] r : rows) {
            Matcher m = Pattern.compile("row=" + r[0] + " error=null settings=(\\S+) png=(\\S+)").matcher(out);
            assertTrue(m.find(), out);
            assertTrue(m.group(1).contains("\"intra_op_threads\":2,\"threads_from\":\"spark.task.cpus\""), m.group(1));
            Unet4jGeneratorTest.assertSameImage(Unet4jGeneratorTest.libraryImage(r[1], null, Long.parseLong(r[2]), Unet4jGeneratorTest.STEPS),
                    Base64.getDecoder().decode(m.group(2)), "row " + r[0] + " with 2 OpenMP threads");
        }
    }
}
