package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.OpenMpTeams;
import org.apache.spark.SparkFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The models of this JVM (a Spark executor, or the driver in local mode): one per {@link ModelKey} and thread plan
 * ({@code ExecutorThreads}), created lazily by the first task that needs it, shared by every later task,
 * reference-counted while tasks use it, and closed when the JVM ends (a shutdown hook closes every model no task is
 * using). A model that fails to load is not kept: the task fails with the loader's message, and a retried task tries
 * again.
 *
 * <p>A model is loaded on a thread that ends afterwards ({@link OpenMpTeams#onShortLivedThread}), and every model
 * holds a reference to the executor's {@code ComputePool}, whose threads run its generations: so the JVM keeps one
 * OpenMP team per pool thread, whatever threads Spark runs its tasks on.
 */
public final class ExecutorModels {
    private static final Map<Slot, Holder> MODELS = new ConcurrentHashMap<>();
    private static final Map<ModelKey, AtomicInteger> LOADS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeIdle, "unet4j-models-close"));
    }

    private ExecutorModels() {
    }

    /** What a loaded model is shared by: its key and the threads it computes with (baked into its primitives). */
    private record Slot(ModelKey key, ExecutorThreads threads) {
    }

    /** A task's use of a loaded model; closing it gives the reference back (the model stays loaded for later tasks). */
    static final class Lease implements AutoCloseable {
        private final Holder holder;
        private boolean closed;

        private Lease(Holder holder) {
            this.holder = holder;
        }

        ImageModel model() {
            return holder.model;
        }

        /**
         * Runs {@code generation} on the executor's compute pool and waits for it (see {@link ComputePool#call});
         * {@code killed} says when the task is killed, which cancels it.
         */
        <T> T compute(Supplier<T> generation, BooleanSupplier killed) {
            return holder.pool.call(() -> {
                holder.computingThreads.add(Thread.currentThread().getName());
                return generation.get();
            }, killed);
        }

        /** Idempotent: the task's end and the iterator's end may both give it back. */
        @Override
        public void close() {
            synchronized (holder) {
                if (closed) return;
                closed = true;
                holder.references--;
            }
        }
    }

    private static final class Holder {
        final Slot slot;
        final Set<String> computingThreads = ConcurrentHashMap.newKeySet();
        ImageModel model;
        ComputePool pool;
        int references;

        Holder(Slot slot) {
            this.slot = slot;
        }
    }

    /**
     * The model of {@code key} computing with {@code threads}, loading it on first use; the loader's failure is thrown
     * as is (its message intact).
     */
    static Lease acquire(ModelKey key, ExecutorThreads threads) throws Exception {
        Holder h = MODELS.computeIfAbsent(new Slot(key, threads), Holder::new);
        synchronized (h) {
            if (h.model == null) {
                // on a thread that ends: an OpenMP team left on this (Spark task) thread would outlive the load
                h.model = OpenMpTeams.onShortLivedThread("unet4j-load", () -> ImageModel.load(resolve(key.modelPath()), key, threads));
                h.pool = ComputePool.acquire(threads.computeThreads());
                LOADS.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
            }
            h.references++;
            return new Lease(h);
        }
    }

    /**
     * The folder of {@code modelPath}: the path itself when it exists here, else a folder of that name shipped with
     * {@code --files} / {@code SparkContext.addFile} (in {@link SparkFiles#getRootDirectory()}).
     */
    static Path resolve(String modelPath) {
        Path p = Path.of(modelPath);
        if (Files.exists(p) || p.isAbsolute()) return p;
        try {
            Path shipped = Path.of(SparkFiles.get(modelPath));
            if (Files.exists(shipped)) return shipped;
        } catch (RuntimeException notInSpark) {
            // no SparkEnv in this JVM: only the plain path applies
        }
        return p;
    }

    /** How many times this JVM has loaded the model of {@code key} (one unless it was closed or failed). */
    public static int loads(ModelKey key) {
        AtomicInteger n = LOADS.get(key);
        return n == null ? 0 : n.get();
    }

    /** Tasks currently using the model of {@code key}. */
    public static int references(ModelKey key) {
        int n = 0;
        for (Holder h : MODELS.values()) {
            if (!h.slot.key().equals(key)) continue;
            synchronized (h) {
                n += h.references;
            }
        }
        return n;
    }

    /** Names of the threads that have run generations of the model of {@code key} (its compute pool's, sorted). */
    static Set<String> computingThreads(ModelKey key) {
        Set<String> names = new TreeSet<>();
        for (Holder h : MODELS.values()) if (h.slot.key().equals(key)) names.addAll(h.computingThreads);
        return names;
    }

    /** The compute pool of the loaded model of {@code key}, if it is loaded. */
    static Optional<ComputePool> computePool(ModelKey key) {
        for (Holder h : MODELS.values()) {
            synchronized (h) {
                if (h.slot.key().equals(key) && h.pool != null) return Optional.of(h.pool);
            }
        }
        return Optional.empty();
    }

    /** Closes and forgets every model no task is using, giving back their compute pool (the shutdown hook; also for long-lived drivers). */
    public static void closeIdle() {
        for (Holder h : MODELS.values()) {
            synchronized (h) {
                if (h.references == 0 && h.model != null) {
                    try {
                        h.model.close();
                    } finally {
                        h.model = null;
                        h.pool.release();
                        h.pool = null;
                        MODELS.remove(h.slot, h);
                    }
                }
            }
        }
    }
}
