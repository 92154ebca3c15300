package dev.unet4j.spark;

import dev.unet4j.core.kernels.dnnl.IntraOpThreads;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How an executor JVM runs its generations: the OpenMP threads of each generation (oneDNN's intra-op threads), where
 * that count comes from, and the size of the executor's {@link ComputePool}.
 *
 * <p>Two routes for the count. On Java 22+ it is {@code spark.task.cpus}, set in-process on every thread that
 * computes ({@code DnnlKernels.Options.withIntraOpThreads} through {@code java.lang.foreign}). On Java 17-21 Java
 * cannot call {@code omp_set_num_threads}, so each generation gets what the executor's OpenMP read from
 * {@code OMP_NUM_THREADS} when oneDNN loaded ({@code spark.executorEnv.OMP_NUM_THREADS}, which
 * {@link GenerateImages} and {@code bin/unet4j-spark} set), or all cores when it is unset.
 *
 * @param executorCores  the executor's cores: {@code N} of a {@code local[N]} master (the driver is the executor),
 *                       else {@code spark.executor.cores}, else the JVM's available processors
 * @param taskCpus       {@code spark.task.cpus} of the running task
 * @param intraOpThreads OpenMP threads per generation
 * @param source         where {@code intraOpThreads} comes from
 */
record ExecutorThreads(int executorCores, int taskCpus, int intraOpThreads, Source source) {
    private static final Logger LOG = LoggerFactory.getLogger(ExecutorThreads.class);
    /** The plans this JVM has logged (each once). */
    private static final Set<ExecutorThreads> LOGGED = ConcurrentHashMap.newKeySet();
    private static final Pattern LOCAL_MASTER = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\s*\\d+)?])?");

    /** Where the intra-op thread count comes from (the label is the {@code settings} column's {@code threads_from}). */
    enum Source {
        /** {@code spark.task.cpus}, set per computing thread from Java (22+). */
        TASK_CPUS("spark.task.cpus"),
        /** The executor's {@code OMP_NUM_THREADS}, read by OpenMP when oneDNN loaded. */
        OMP_NUM_THREADS("OMP_NUM_THREADS"),
        /** {@code OMP_NUM_THREADS} unset: OpenMP's default, every core. */
        ALL_CORES("OpenMP default (all cores)");

        final String label;

        Source(String label) {
            this.label = label;
        }
    }

    ExecutorThreads {
        if (executorCores < 1 || taskCpus < 1 || intraOpThreads < 1) {
            throw new IllegalArgumentException("cores, task cpus and threads must be >= 1: " + executorCores + ", " + taskCpus + ", " + intraOpThreads);
        }
    }

    /**
     * The plan for a task of {@code taskCpus} on an executor of {@code executorCores}.
     *
     * @param inProcessProblem why the count cannot be set in-process ({@link IntraOpThreads#unavailableReason()}), or
     *                         null when it can
     * @param ompNumThreads    the executor's {@code OMP_NUM_THREADS}, or null
     * @param processors       the JVM's available processors (OpenMP's default team size)
     */
    static ExecutorThreads of(int executorCores, int taskCpus, String inProcessProblem, String ompNumThreads, int processors) {
        if (inProcessProblem == null) return new ExecutorThreads(executorCores, taskCpus, taskCpus, Source.TASK_CPUS);
        Integer env = firstLevel(ompNumThreads);
        return env != null ? new ExecutorThreads(executorCores, taskCpus, env, Source.OMP_NUM_THREADS)
                : new ExecutorThreads(executorCores, taskCpus, processors, Source.ALL_CORES);
    }

    /** This JVM's plan for {@code task} (null: no Spark task, the settings come from {@code -Dspark.*} properties); logged once. */
    static ExecutorThreads forTask(TaskContext task) {
        SparkEnv env = SparkEnv.get();
        UnaryOperator<String> conf = env != null ? k -> env.conf().get(k, null) : System::getProperty;
        int processors = Runtime.getRuntime().availableProcessors();
        int taskCpus = task != null ? task.cpus() : positive(conf, "spark.task.cpus", 1);
        String problem = IntraOpThreads.unavailableReason();
        ExecutorThreads t = of(executorCores(conf, processors), taskCpus, problem, System.getenv("OMP_NUM_THREADS"), processors);
        if (LOGGED.add(t)) t.log(problem);
        return t;
    }

    /** The threads of the executor's compute pool: as many generations at once as Spark runs tasks. */
    int computeThreads() {
        return Math.max(1, executorCores / taskCpus);
    }

    /** {@code DnnlKernels.Options.intraOpThreads} of the executor's models: the count in-process, 0 = leave it to OpenMP. */
    int kernelIntraOpThreads() {
        return source == Source.TASK_CPUS ? intraOpThreads : 0;
    }

    /** The log line: which route, which count, and the pool. */
    String describe(String inProcessProblem) {
        String route = switch (source) {
            case TASK_CPUS -> "spark.task.cpus = " + taskCpus + ", set in-process (java.lang.foreign, Java "
                    + Runtime.version().feature() + ")";
            case OMP_NUM_THREADS -> "OMP_NUM_THREADS = " + intraOpThreads + " from the executor's environment, not spark.task.cpus = "
                    + taskCpus + " (" + inProcessProblem + ")";
            case ALL_CORES -> "all " + intraOpThreads + " cores: OMP_NUM_THREADS is unset and spark.task.cpus = " + taskCpus
                    + " cannot be applied (" + inProcessProblem + "); set spark.executorEnv.OMP_NUM_THREADS";
        };
        return String.format(Locale.ROOT, "unet4j: %d OpenMP thread(s) per generation from %s; compute pool of %d thread(s)"
                + " (%d executor cores / %d task cpus)", intraOpThreads, route, computeThreads(), executorCores, taskCpus);
    }

    private void log(String inProcessProblem) {
        boolean mismatch = source != Source.TASK_CPUS && intraOpThreads != taskCpus;
        if (mismatch) LOG.warn(describe(inProcessProblem));
        else LOG.info(describe(inProcessProblem));
    }

    /** Cores of this executor: a local master's N (there the driver runs the tasks), else spark.executor.cores. */
    static int executorCores(UnaryOperator<String> conf, int processors) {
        String master = conf.apply("spark.master");
        if (master != null) {
            Matcher m = LOCAL_MASTER.matcher(master.strip());
            if (m.matches()) {
                if (m.group(1) == null) return 1;
                return m.group(1).equals("*") ? processors : Math.max(1, Integer.parseInt(m.group(1)));
            }
        }
        return positive(conf, "spark.executor.cores", processors);
    }

    private static int positive(UnaryOperator<String> conf, String key, int otherwise) {
        String v = conf.apply(key);
        if (v == null || v.isBlank()) return otherwise;
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= 1) return n;
        } catch (NumberFormatException e) {
            // refused below, as a value below 1
        }
        throw new IllegalArgumentException(key + " must be a positive integer, got '" + v + "'");
    }

    /** The first entry of {@code OMP_NUM_THREADS} (libgomp takes a list per nesting level), or null when unset or unreadable. */
    static Integer firstLevel(String ompNumThreads) {
        if (ompNumThreads == null || ompNumThreads.isBlank()) return null;
        try {
            int n = Integer.parseInt(ompNumThreads.split(",")[0].strip());
            return n >= 1 ? n : null;
        } catch (NumberFormatException e) {
            return null; // libgomp ignores what it cannot parse
        }
    }
}
