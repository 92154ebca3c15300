package dev.unet4j.spark;

import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.SamplingCancelledException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The executor's compute pool on its own (no Spark): work from many caller threads runs on the pool's fixed threads,
 * failures arrive as thrown, and a kill or an interrupt cancels the work — a real 500-step generation stops after a
 * few steps — and leaves the pool thread clean for the next call. Pool sizes here (3, 5) differ from the Spark tests'
 * (2), so these pools are their own.
 */
class ComputePoolTest {
    static final AtomicBoolean NEVER = new AtomicBoolean();

    @Test
    void callsFromManyThreadsRunOnThePoolsFixedThreads() throws Exception {
        int createdBefore = ComputePool.created();
        ComputePool p = ComputePool.acquire(3);
        assertSame(p, ComputePool.acquire(3), "one pool per size per JVM");
        assertEquals(createdBefore + 1, ComputePool.created());
        Set<Thread> ran = ConcurrentHashMap.newKeySet();
        List<Thread> callers = new ArrayList<>();
        for (int c = 0; c < 6; c++) {
            Thread t = new Thread(() -> {
                for (int i = 0; i < 10; i++) {
                    int v = p.call(() -> {
                        ran.add(Thread.currentThread());
                        return 7;
                    }, NEVER::get);
                    assertEquals(7, v);
                }
            }, "caller-" + c);
            callers.add(t);
            t.start();
        }
        for (Thread t : callers) t.join();
        assertEquals(3, p.size());
        assertTrue(ran.size() <= 3, "60 calls on at most 3 threads: " + ran);
        for (Thread t : ran) {
            assertEquals(t.getName(), p.threads().get(t.getId()), "ran on a pool thread");
            assertTrue(t.getName().startsWith(ComputePool.THREAD_NAME), t.getName());
            assertTrue(t.getName().length() <= 15, "Linux keeps 15 characters of a thread name: " + t.getName());
        }
        p.release();
        assertTrue(ran.iterator().next().isAlive(), "still referenced once");
        p.release();
        for (Thread t : ran) {
            t.join(10_000);
            assertFalse(t.isAlive(), "the last release ends the pool's threads");
        }
        assertThrows(IllegalStateException.class, p::release);
    }

    @Test
    void failuresArriveAsThrown() {
        ComputePool p = ComputePool.acquire(5);
        try {
            IllegalArgumentException bad = new IllegalArgumentException("row 3: bad size");
            assertSame(bad, assertThrows(IllegalArgumentException.class, () -> p.call(() -> {
                throw bad;
            }, NEVER::get)));
            assertEquals(0, p.cancelled());
        } finally {
            p.release();
        }
    }

    @Test
    void aKillCancelsRunningWorkAndTheThreadComesBackClean() throws Exception {
        ComputePool p = ComputePool.acquire(5);
        try {
            AtomicBoolean killed = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(1);
            AtomicBoolean sawInterrupt = new AtomicBoolean();
            Thread killer = new Thread(() -> {
                try {
                    started.await();
                } catch (InterruptedException e) {
                    return;
                }
                killed.set(true);
            });
            killer.start();
            CancellationException e = assertThrows(CancellationException.class, () -> p.call(() -> {
                started.countDown();
                while (!Thread.currentThread().isInterrupted()) Thread.onSpinWait();
                sawInterrupt.set(true);
                throw new IllegalStateException("stopped by the interrupt");
            }, killed::get));
            assertEquals("unet4j: generation cancelled: the task was killed", e.getMessage());
            assertEquals("stopped by the interrupt", e.getCause().getMessage(), "the work's own end, as the cause");
            assertTrue(sawInterrupt.get());
            assertEquals(0, p.running(), "the call returns once the work has stopped");
            assertEquals(1, p.cancelled());
            for (int i = 0; i < 10; i++) {
                assertFalse(p.call(() -> Thread.currentThread().isInterrupted(), NEVER::get), "a cancel's interrupt leaked into a later call");
            }
        } finally {
            p.release();
        }
    }

    @Test
    void anInterruptedCallerCancelsAndKeepsItsInterrupt() throws Exception {
        ComputePool p = ComputePool.acquire(5);
        try {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> got = new AtomicReference<>();
            AtomicBoolean flagAfter = new AtomicBoolean();
            Thread caller = new Thread(() -> {
                try {
                    p.call(() -> {
                        started.countDown();
                        while (!Thread.currentThread().isInterrupted()) Thread.onSpinWait();
                        return 0;
                    }, NEVER::get);
                } catch (Throwable t) {
                    got.set(t);
                }
                flagAfter.set(Thread.currentThread().isInterrupted());
            });
            caller.start();
            assertTrue(started.await(30, TimeUnit.SECONDS));
            caller.interrupt();
            caller.join(30_000);
            assertInstanceOf(CancellationException.class, got.get());
            assertEquals("unet4j: generation cancelled: the task thread was interrupted", got.get().getMessage());
            assertTrue(flagAfter.get(), "the caller's interrupt flag is set again");
            assertEquals(0, p.running());
        } finally {
            p.release();
        }
    }

    /** The pool and the model together: killing a 500-step generation stops it after a few steps, not as a row error. */
    @Test
    void aKilledGenerationStopsAtItsNextStep() throws Exception {
        String dir = Fixtures.model("digits-text-32").toString();
        ModelKey key = new ModelKey(dir, null, null);
        GeneratorSettings s = new GeneratorSettings(dir, "ddim", 500, 3.0, null, null, 0.8, -1, 1, false);
        RowRequest slow = new RowRequest("a handwritten two", null, 5, null, 500, 3.0, 0, 0, null);
        ComputePool p = ComputePool.acquire(5);
        try (ImageModel m = ImageModel.load(ExecutorModels.resolve(dir), key, ExecutorThreads.forTask(null))) {
            AtomicBoolean killed = new AtomicBoolean();
            Thread killer = new Thread(() -> {
                while (p.running() == 0) Thread.onSpinWait();
                try {
                    Thread.sleep(200); // a few steps in
                } catch (InterruptedException e) {
                    return;
                }
                killed.set(true);
            });
            killer.start();
            long t0 = System.nanoTime();
            CancellationException e = assertThrows(CancellationException.class, () -> p.call(() -> m.generate(List.of(slow), s), killed::get));
            killer.join();
            SamplingCancelledException stop = assertInstanceOf(SamplingCancelledException.class, e.getCause(), "the sampler stopped, no row error");
            Matcher step = Pattern.compile("sampling cancelled after step (\\d+): thread interrupted").matcher(stop.getMessage());
            assertTrue(step.find(), stop.getMessage());
            assertTrue(Integer.parseInt(step.group(1)) < 499, "stopped before the last of 500 steps: " + stop.getMessage());
            assertNotNull(m.generate(List.of(new RowRequest("a handwritten two", null, 5, null, 2, 3.0, 0, 0, null)), s).get(0).png(),
                    "the model still generates afterwards; took " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        } finally {
            p.release();
        }
    }
}
