package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.testing.NativeThreads;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class OpenMpTeamsTest {

    @Test
    void workRunsOnAThreadThatHasEndedWhenItReturns() {
        Thread[] ran = new Thread[1];
        int v = OpenMpTeams.onShortLivedThread("unet4j-test", () -> {
            ran[0] = Thread.currentThread();
            return 42;
        });
        assertEquals(42, v);
        assertNotSame(Thread.currentThread(), ran[0]);
        assertFalse(ran[0].isAlive());
    }

    @Test
    void exceptionsArriveAsThrown() {
        IOException io = new IOException("checked");
        assertSame(io, assertThrows(IOException.class, () -> OpenMpTeams.onShortLivedThread("unet4j-test", () -> {
            throw io;
        })));
        IllegalStateException ise = new IllegalStateException("unchecked");
        assertSame(ise, assertThrows(IllegalStateException.class, () -> OpenMpTeams.onShortLivedThread("unet4j-test", () -> {
            throw ise;
        })));
    }

    /** The point of the class: the OpenMP team a computing thread gets from libgomp is gone once that thread is. */
    @Test
    void theThreadsOpenMpTeamEndsWithIt() throws InterruptedException {
        assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux /proc to count native threads");
        String name = "omp-team-probe"; // libgomp workers inherit their creator's thread name
        String env = System.getenv("OMP_NUM_THREADS");
        int teamSize = env == null ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(env.split(",")[0].strip());
        long[] during = new long[1];
        float[] got;
        try (DnnlKernels k = new DnnlKernels(DnnlKernels.Options.exact())) {
            got = OpenMpTeams.onShortLivedThread(name, () -> {
                float[] y = IntraOpThreadsProbe.forward(k);
                during[0] = NativeThreads.named(name);
                return y;
            });
        }
        assertArrayEquals(IntraOpThreadsProbe.forward(new ReferenceKernels()), got, 1e-4f, "the work's result");
        assertEquals(teamSize, during[0], "the calling thread and its libgomp workers while it computes");
        long after = NativeThreads.named(name);
        for (int i = 0; i < 100 && after > 0; i++) { // the workers leave as the thread's TLS destructor releases them
            Thread.sleep(20);
            after = NativeThreads.named(name);
        }
        assertEquals(0, after, "threads of the ended thread's team still alive");
    }
}
