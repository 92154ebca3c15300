package dev.unet4j.core.kernels.dnnl;

/**
 * The largest compute thread count accepted: {@code min(4 x available processors, 256)}. libgomp starts
 * {@code OMP_NUM_THREADS} workers for every parallel region; 5,000 took 54 s to start and 20,000 crashed the JVM
 * (SIGSEGV from thread stacks), and more threads than cores only slow oneDNN down.
 */
public final class ThreadLimit {
    public static final int ABSOLUTE_MAX = 256;

    private ThreadLimit() {
    }

    /** The cap on this machine. */
    public static int max() {
        return Math.min(ABSOLUTE_MAX, 4 * Runtime.getRuntime().availableProcessors());
    }

    /** Why {@code threads} (named {@code what} in the message) is refused, or null when it is within 1..{@link #max()}. */
    public static String problem(String what, long threads) {
        if (threads < 1) return what + " must be >= 1, got " + threads;
        if (threads > max()) {
            return what + " " + threads + " is too many threads: at most " + max() + " (4 x "
                    + Runtime.getRuntime().availableProcessors() + " processors, and never more than " + ABSOLUTE_MAX + ")";
        }
        return null;
    }

    /**
     * Checks the {@code OMP_NUM_THREADS} the native OpenMP pool will read (its first entry; libgomp also takes a
     * comma-separated list per nesting level) before oneDNN is loaded.
     *
     * @throws IllegalStateException when it asks for more than {@link #max()} threads (or fewer than 1)
     */
    static void checkEnvironment(String ompNumThreads) {
        if (ompNumThreads == null || ompNumThreads.isBlank()) return;
        for (String level : ompNumThreads.split(",")) {
            long n;
            try {
                n = Long.parseLong(level.strip());
            } catch (NumberFormatException e) {
                continue; // libgomp ignores what it cannot parse
            }
            String p = problem("OMP_NUM_THREADS=" + ompNumThreads + ":", n);
            if (p != null) throw new IllegalStateException(p + "; set it before the JVM starts");
        }
    }
}
