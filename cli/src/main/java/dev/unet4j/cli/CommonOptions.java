package dev.unet4j.cli;

import dev.unet4j.core.kernels.dnnl.ThreadLimit;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Options every command takes. */
final class CommonOptions {
    @Option(names = "--verbose", description = "Debug logging and stack traces on errors.")
    boolean verbose;

    @Option(names = "--quiet", description = "No progress bar and no summary line on stdout (errors are still printed).")
    boolean quiet;

    @Option(names = "--threads", paramLabel = "T",
            description = "Compute threads. oneDNN's OpenMP pool reads OMP_NUM_THREADS when it loads, so bin/unet4j "
                    + "exports it and java -jar reruns the command in a child JVM with it set. Default: all cores "
                    + "(or OMP_NUM_THREADS).")
    Integer threads;

    /** Warns when --threads cannot take effect in this process. */
    void checkThreads(PrintWriter err) {
        if (threads == null) return;
        String problem = ThreadLimit.problem("--threads", threads);
        if (problem != null) throw new UserException(problem);
        String omp = System.getenv("OMP_NUM_THREADS");
        if (!String.valueOf(threads).equals(omp == null ? null : omp.strip())) {
            err.println("warning: --threads " + threads + " needs OMP_NUM_THREADS=" + threads
                    + " before the JVM starts (bin/unet4j and java -jar set it; in-process callers must); running with "
                    + (omp == null ? "all cores" : "OMP_NUM_THREADS=" + omp));
            err.flush();
        }
    }
}
