package dev.unet4j.spark;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The executor's thread plan from Spark's settings: the compute pool's size ({@code executor cores / spark.task.cpus})
 * and the OpenMP threads per generation on either route (in-process where Java can call {@code omp_set_num_threads},
 * else {@code OMP_NUM_THREADS}). Both routes are decided by the "why not in-process" text, so both are checked here on
 * any Java; {@code InProcessThreadsTest} checks what the in-process count does on Java 22+.
 */
class ExecutorThreadsTest {
    static final String JAVA17 = "setting intra-op threads in code needs Java 22 or later";

    @Test
    void javaTwentyTwoUsesTheTaskCpusInProcess() {
        ExecutorThreads t = ExecutorThreads.of(8, 2, null, "1", 8);
        assertEquals(2, t.intraOpThreads());
        assertEquals(ExecutorThreads.Source.TASK_CPUS, t.source());
        assertEquals(2, t.kernelIntraOpThreads(), "the kernels set it on every computing thread");
        assertEquals(4, t.computeThreads(), "8 cores / 2 cpus per task");
        assertEquals("unet4j: 2 OpenMP thread(s) per generation from spark.task.cpus = 2, set in-process (java.lang.foreign, Java "
                + Runtime.version().feature() + "); compute pool of 4 thread(s) (8 executor cores / 2 task cpus)", t.describe(null));
    }

    @Test
    void olderJavaTakesOmpNumThreadsAndSaysSo() {
        ExecutorThreads t = ExecutorThreads.of(2, 1, JAVA17, "2,1", 16);
        assertEquals(2, t.intraOpThreads(), "libgomp's first nesting level");
        assertEquals(ExecutorThreads.Source.OMP_NUM_THREADS, t.source());
        assertEquals(0, t.kernelIntraOpThreads(), "left to OpenMP's own setting");
        assertEquals(2, t.computeThreads());
        String d = t.describe(JAVA17);
        assertTrue(d.startsWith("unet4j: 2 OpenMP thread(s) per generation from OMP_NUM_THREADS = 2 from the executor's environment,"
                + " not spark.task.cpus = 1 (" + JAVA17 + ")"), d);

        ExecutorThreads all = ExecutorThreads.of(4, 1, JAVA17, null, 16);
        assertEquals(16, all.intraOpThreads(), "unset: OpenMP's default, every processor");
        assertEquals(ExecutorThreads.Source.ALL_CORES, all.source());
        assertTrue(all.describe(JAVA17).contains("set spark.executorEnv.OMP_NUM_THREADS"), all.describe(JAVA17));
        assertEquals(ExecutorThreads.Source.ALL_CORES, ExecutorThreads.of(4, 1, JAVA17, "many", 16).source(), "unparseable, as libgomp");
    }

    @Test
    void thePoolHasOneThreadPerTaskSlot() {
        assertEquals(1, ExecutorThreads.of(1, 1, null, null, 2).computeThreads());
        assertEquals(2, ExecutorThreads.of(2, 1, null, null, 2).computeThreads());
        assertEquals(1, ExecutorThreads.of(2, 2, null, null, 2).computeThreads());
        assertEquals(2, ExecutorThreads.of(5, 2, null, null, 2).computeThreads(), "a spare core is not a slot");
        assertEquals(1, ExecutorThreads.of(1, 2, null, null, 2).computeThreads(), "never below one");
    }

    @Test
    void executorCoresFromTheMasterOrTheExecutorSettings() {
        assertEquals(1, cores(Map.of("spark.master", "local")));
        assertEquals(3, cores(Map.of("spark.master", "local[3]")));
        assertEquals(3, cores(Map.of("spark.master", "local[3,2]")), "local[N,F]: F is the task retries");
        assertEquals(7, cores(Map.of("spark.master", "local[*]")), "every processor");
        assertEquals(4, cores(Map.of("spark.master", "yarn", "spark.executor.cores", "4")));
        assertEquals(7, cores(Map.of("spark.master", "spark://host:7077")), "standalone default: the worker's cores");
        assertEquals(6, cores(Map.of("spark.master", "local-cluster[2,6,1024]", "spark.executor.cores", "6")));
        var e = assertThrows(IllegalArgumentException.class, () -> cores(Map.of("spark.executor.cores", "0")));
        assertEquals("spark.executor.cores must be a positive integer, got '0'", e.getMessage());
    }

    @Test
    void ompNumThreadsIsReadAsLibgompReadsIt() {
        assertEquals(3, ExecutorThreads.firstLevel(" 3 "));
        assertEquals(4, ExecutorThreads.firstLevel("4,2"));
        assertNull(ExecutorThreads.firstLevel(""));
        assertNull(ExecutorThreads.firstLevel("0"));
        assertNull(ExecutorThreads.firstLevel("x"));
    }

    private static int cores(Map<String, String> conf) {
        return ExecutorThreads.executorCores(conf::get, 7);
    }
}
