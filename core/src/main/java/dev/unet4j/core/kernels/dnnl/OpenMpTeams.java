package dev.unet4j.core.kernels.dnnl;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Keeps oneDNN's OpenMP (libgomp) thread teams from outnumbering the cores.
 *
 * <p>libgomp gives every thread that enters a parallel region a team of its own, kept alive until that thread
 * exits. While the process's libgomp-managed threads outnumber the CPUs, libgomp throttles every team's barrier
 * spin-wait to about 100 iterations ({@code gomp_throttled_spin_count_var} in libgomp's {@code env.c}), so each of
 * the thousands of small primitives of a generation pays a futex sleep and wake-up. Measured with
 * {@code ServerLoadBench} on 2 idle cores (demo-text, 25 steps): the same loop ran at 4.9 images/s on the thread that
 * had loaded the model and at 1.5 images/s on a second thread, the first team still alive; with the load done on a
 * thread that had ended, the server's worker ran at 3.7 images/s (docs/threads.md).
 *
 * <p>So work that computes once — loading and packing weights, an occasional preview decode — belongs on a thread
 * that ends afterwards, and generations on a fixed set of long-lived threads sized to the cores.
 */
public final class OpenMpTeams {
    private OpenMpTeams() {
    }

    /**
     * Runs {@code work} on a new thread and waits for it; when this returns, that thread (and its OpenMP team) has
     * ended. Exceptions of {@code work} are rethrown as they are (checked ones as thrown by {@code work}).
     */
    public static <T, E extends Exception> T onShortLivedThread(String name, ThrowingCallable<T, E> work) throws E {
        FutureTask<T> task = new FutureTask<>((Callable<T>) work::call);
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            // the work cannot be abandoned half-done (it may own native memory): finish it, keep the interrupt
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException again) {
                    // keep waiting
                }
            }
            Thread.currentThread().interrupt();
        }
        try {
            return task.get();
        } catch (InterruptedException e) {
            throw new IllegalStateException("unreachable: the task has ended", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            @SuppressWarnings("unchecked") E checked = (E) c;
            throw checked;
        }
    }

    /** A {@link Callable} with a precise checked exception. */
    @FunctionalInterface
    public interface ThrowingCallable<T, E extends Exception> {
        T call() throws E;
    }
}
