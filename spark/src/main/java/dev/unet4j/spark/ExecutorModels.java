package dev.unet4j.spark;

import org.apache.spark.SparkFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models of this JVM (a Spark executor, or the driver in local mode): one per {@link ModelKey}, created lazily by
 * the first task that needs it, shared by every later task, reference-counted while tasks use it, and closed when
 * the JVM ends (a shutdown hook closes every model no task is using). A model that fails to load is not kept: the
 * task fails with the loader's message, and a retried task tries again.
 */
public final class ExecutorModels {
    private static final Map<ModelKey, Holder> MODELS = new ConcurrentHashMap<>();
    private static final Map<ModelKey, AtomicInteger> LOADS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorModels::closeIdle, "unet4j-models-close"));
    }

    private ExecutorModels() {
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
        final ModelKey key;
        ImageModel model;
        int references;

        Holder(ModelKey key) {
            this.key = key;
        }
    }

    /** The model of {@code key}, loading it on first use; the loader's failure is thrown as is (its message intact). */
    static Lease acquire(ModelKey key) throws Exception {
        Holder h = MODELS.computeIfAbsent(key, Holder::new);
        synchronized (h) {
            if (h.model == null) {
                h.model = ImageModel.load(resolve(key.modelPath()), key);
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
        Holder h = MODELS.get(key);
        if (h == null) return 0;
        synchronized (h) {
            return h.references;
        }
    }

    /** Closes and forgets every model no task is using (the shutdown hook; also for long-lived drivers). */
    public static void closeIdle() {
        for (Holder h : MODELS.values()) {
            synchronized (h) {
                if (h.references == 0 && h.model != null) {
                    try {
                        h.model.close();
                    } finally {
                        h.model = null;
                        MODELS.remove(h.key, h);
                    }
                }
            }
        }
    }
}
