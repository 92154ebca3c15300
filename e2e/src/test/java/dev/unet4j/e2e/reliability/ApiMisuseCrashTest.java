package dev.unet4j.e2e.reliability;

import dev.unet4j.cli.Main;
import dev.unet4j.core.kernels.dnnl.ThreadLimit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * API misuse that used to crash the JVM (SIGSEGV), each run in a child JVM so a regression fails this test rather
 * than the whole suite: closing a model while other threads generate with it, one session used from two threads
 * (and closed while in use), and absurd thread counts.
 */
class ApiMisuseCrashTest {
    @TempDir
    Path dir;

    @Test
    void closingAModelWhileThreadsGenerateDrainsOrRefusesThem() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Map.of(), 300, CloseWhileRunningMain.class, "40");
        System.out.println(r);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("ok tries=40"), r.toString());
    }

    @Test
    void oneSessionFromTwoThreadsIsRefusedBeforeNativeCode() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Map.of(), 300, SharedSessionMain.class);
        System.out.println(r);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("ok ran="), r.toString());
    }

    @Test
    void absurdThreadCountsAreRefusedWithAClearError() throws Exception {
        int max = ThreadLimit.max();
        assertEquals(Math.min(256, 4 * Runtime.getRuntime().availableProcessors()), max);
        // through java -jar's relaunch path (which used to start a child with OMP_NUM_THREADS=20000 and crash)
        for (String threads : new String[]{"20000", String.valueOf(max + 1)}) {
            ChildJvm.Result r = ChildJvm.run(Map.of("UNET4J_NO_RELAUNCH", "0"), 120, Main.class,
                    "generate", "--threads", threads, "--out", dir.resolve("x.png").toString());
            assertEquals(1, r.code(), r.toString());
            assertTrue(r.err().contains("--threads " + threads + " is too many threads: at most " + max), r.toString());
            assertTrue(r.err().strip().split("\\R").length <= 3, r.toString());
            assertFalse(Files.exists(dir.resolve("x.png")));
        }
        // the library: OMP_NUM_THREADS (how oneDNN takes its thread count) is checked before the pool starts
        ChildJvm.Result r = ChildJvm.run(Map.of("OMP_NUM_THREADS", "20000"), 120, NewKernelsMain.class);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("refused: OMP_NUM_THREADS=20000: 20000 is too many threads: at most " + max), r.toString());
        ChildJvm.Result ok = ChildJvm.run(Map.of("OMP_NUM_THREADS", "1"), 120, NewKernelsMain.class);
        assertEquals("constructed", ok.out().strip(), ok.toString());
    }
}
