package dev.unet4j.spark;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The executor JVM's fixed set of long-lived threads that run every generation, so the process keeps one OpenMP team
 * per compute thread.
 *
 * <p>Why: libgomp gives each thread that enters a parallel region a team of its own, kept until that thread exits,
 * and throttles every team's spin-wait once the process's OpenMP threads outnumber the cores (docs/threads.md,
 * "One OpenMP team per core"). Spark runs tasks on a cached thread pool whose threads come and go, so generations run
 * on the task threads left a team behind on each; with two threads per task the throughput swung between 2.4 and 9.7
 * images/s. Here the task thread only hands its generation to a pool thread and waits.
 *
 * <p>One pool per size per JVM ({@link #acquire}), shared by every loaded model of the executor and reference-counted
 * by them ({@link ExecutorModels}); the last {@link #release} ends its threads.
 */
final class ComputePool {
    private static final Map<Integer, ComputePool> POOLS = new HashMap<>(); // guarded by itself
    private static final AtomicInteger CREATED = new AtomicInteger();
    private static final AtomicInteger THREADS = new AtomicInteger();
    /** How often a waiting task thread looks at its task's kill flag (Spark kills without interrupting by default). */
    private static final long POLL_MILLIS = 50;
    /** Its threads' names: this and a number. */
    static final String THREAD_NAME = "unet4j-pool-";

    private final int size;
    private final ThreadPoolExecutor executor;
    private final Map<Long, String> threads = new ConcurrentHashMap<>();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicLong cancelled = new AtomicLong();
    private int references; // guarded by POOLS

    private ComputePool(int size) {
        this.size = size;
        CREATED.incrementAndGet();
        this.executor = new ThreadPoolExecutor(size, size, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            // short: Linux keeps 15 characters of a thread's name, and libgomp's workers carry their creator's
            Thread t = new Thread(r, THREAD_NAME + THREADS.incrementAndGet());
            t.setDaemon(true); // an executor JVM must not wait for them to end
            threads.put(t.getId(), t.getName());
            return t;
        });
    }

    /** The JVM's pool of {@code size} threads, created on first use; give it back with {@link #release}. */
    static ComputePool acquire(int size) {
        synchronized (POOLS) {
            ComputePool p = POOLS.computeIfAbsent(size, ComputePool::new);
            p.references++;
            return p;
        }
    }

    /** Gives back one reference; the last one ends the pool's threads (and their OpenMP teams). */
    void release() {
        synchronized (POOLS) {
            if (references == 0) throw new IllegalStateException("compute pool released more often than acquired");
            if (--references == 0) {
                POOLS.remove(size, this);
                executor.shutdown();
            }
        }
    }

    /** Pools this JVM has created (one per executor unless models were closed and loaded again). */
    static int created() {
        return CREATED.get();
    }

    int size() {
        return size;
    }

    /** Id and name of every thread the pool has started (at most {@link #size()} while it lives). */
    Map<Long, String> threads() {
        return Map.copyOf(threads);
    }

    /** Calls running on the pool's threads right now. */
    int running() {
        return running.get();
    }

    /** Calls given up because their task was killed or interrupted. */
    long cancelled() {
        return cancelled.get();
    }

    /**
     * Runs {@code work} on a pool thread and waits for its result; {@code work}'s exceptions are rethrown as they are.
     * When {@code killed} turns true or the calling thread is interrupted, the work is cancelled: dropped if it has not
     * started, else its thread is interrupted (a sampler stops after its current step) and this waits until it has
     * stopped, so the task never lets go of its model while a pool thread still computes with it.
     *
     * @throws CancellationException when cancelled (with the work's own failure as the cause, if it had one); after an
     *                               interrupt the calling thread's interrupt flag is set again
     */
    <T> T call(Supplier<T> work, BooleanSupplier killed) {
        Call<T> c = new Call<>(work);
        executor.execute(c);
        try {
            while (!c.awaitDone(POLL_MILLIS)) {
                if (killed.getAsBoolean()) throw cancel(c, "the task was killed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw cancel(c, "the task thread was interrupted");
        }
        return c.result();
    }

    private CancellationException cancel(Call<?> c, String why) {
        executor.remove(c);
        Throwable failure = c.cancel();
        cancelled.incrementAndGet();
        CancellationException e = new CancellationException("unet4j: generation cancelled: " + why);
        if (failure != null) e.initCause(failure);
        return e;
    }

    /** One generation handed to the pool: queued, running, then done or cancelled. */
    private final class Call<T> implements Runnable {
        private final Supplier<T> work;
        private boolean started;
        private boolean cancelling;
        private boolean done;
        private Thread runner;
        private T value;
        private Throwable failure;

        Call(Supplier<T> work) {
            this.work = work;
        }

        @Override
        public void run() {
            synchronized (this) {
                if (done || cancelling) return;
                started = true;
                runner = Thread.currentThread();
            }
            running.incrementAndGet();
            T v = null;
            Throwable f = null;
            try {
                v = work.get();
            } catch (Throwable t) {
                f = t;
            } finally {
                running.decrementAndGet();
            }
            synchronized (this) {
                value = v;
                failure = f;
                done = true;
                runner = null;
                Thread.interrupted(); // a cancel's interrupt must not reach the thread's next call
                notifyAll();
            }
        }

        synchronized boolean awaitDone(long millis) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            for (long left = millis; !done && left > 0; left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())) {
                wait(left);
            }
            return done;
        }

        /** Stops the work (interrupting its thread) and waits until it has; returns its failure, if any. */
        synchronized Throwable cancel() {
            cancelling = true;
            if (!started) {
                done = true;
                return null;
            }
            if (!done) runner.interrupt();
            boolean interrupted = false;
            while (!done) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // keep waiting: the work may own native memory of the model
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            return failure;
        }

        synchronized T result() {
            if (failure instanceof RuntimeException r) throw r;
            if (failure instanceof Error e) throw e;
            if (failure != null) throw new IllegalStateException(failure); // Supplier cannot throw checked ones
            return value;
        }
    }
}
