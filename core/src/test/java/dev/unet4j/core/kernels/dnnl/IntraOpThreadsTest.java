package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.testing.Jdks;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Intra-op threads set in code ({@link DnnlKernels.Options#intraOpThreads}): refused clearly below Java 22; on Java
 * 22+ (this JVM, or a child JVM from {@code -Dunet4j.jdk22=JAVA_HOME} or {@code /usr/lib/jvm}) each computing thread
 * gets exactly its count, other threads keep theirs, and 1 or 3 threads give the same numbers as the reference.
 */
class IntraOpThreadsTest {

    @Test
    void outOfRangeCountsAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> DnnlKernels.Options.exact().withIntraOpThreads(-1));
        assertTrue(e.getMessage().contains("intraOpThreads must be >= 1, got -1"), e.getMessage());
        int over = ThreadLimit.max() + 1;
        e = assertThrows(IllegalArgumentException.class, () -> DnnlKernels.Options.exact().withIntraOpThreads(over));
        assertTrue(e.getMessage().contains("intraOpThreads " + over + " is too many threads"), e.getMessage());
        assertEquals(0, DnnlKernels.Options.exact().intraOpThreads(), "default: OpenMP's own setting");
    }

    @Test
    void refusedWithTheWayOutBeforeJava22() {
        assumeTrue(Runtime.version().feature() < 22, "this JVM has java.lang.foreign");
        var e = assertThrows(IllegalStateException.class, () -> new DnnlKernels(DnnlKernels.Options.exact().withIntraOpThreads(2)));
        assertTrue(e.getMessage().contains("needs Java 22 or later") && e.getMessage().contains("OMP_NUM_THREADS"), e.getMessage());
        assertThrows(IllegalStateException.class, IntraOpThreads::currentThreadMax);
    }

    @Test
    void eachThreadGetsItsCountAndTheSameNumbers() throws Exception {
        Optional<Path> java = Jdks.java22();
        assumeTrue(java.isPresent(), "no Java 22+ found (set -Dunet4j.jdk22=JAVA_HOME)");
        List<String> cmd = new ArrayList<>(List.of(java.get().toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), IntraOpThreadsProbe.class.getName(), "1", "3"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        for (int n : new int[]{1, 3}) {
            Matcher m = Pattern.compile("threads=" + n + " max=(\\d+) team=(-?\\d+)").matcher(out);
            assertTrue(m.find(), out);
            assertEquals(n, Integer.parseInt(m.group(1)), "omp_get_max_threads on the computing thread\n" + out);
            long team = Long.parseLong(m.group(2));
            if (team >= 0) assertEquals(n, team, "native threads in that thread's OpenMP team\n" + out);
        }
        Matcher main = Pattern.compile("main max=(\\d+) default=(\\d+)").matcher(out);
        assertTrue(main.find(), out);
        assertEquals(main.group(2), main.group(1), "a thread that did not compute keeps its own count\n" + out);
        Matcher result = Pattern.compile("identical=(\\w+) maxAbsErr=(\\S+)").matcher(out);
        assertTrue(result.find(), out);
        assertEquals("true", result.group(1), "1 and 3 threads give bit-identical outputs\n" + out);
        assertTrue(Double.parseDouble(result.group(2)) < 1e-4, "against the plain-Java reference\n" + out);
    }
}
