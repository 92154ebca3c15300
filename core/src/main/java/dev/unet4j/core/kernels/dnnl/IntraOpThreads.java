package dev.unet4j.core.kernels.dnnl;

import org.bytedeco.javacpp.Loader;

import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The OpenMP thread count of the calling thread ({@code omp_set_num_threads}), set from Java.
 *
 * <p>The bundled oneDNN runs on OpenMP (libgomp on Linux). OpenMP's thread count ({@code nthreads-var}) is kept per
 * calling thread: a Java thread that sets it bounds the parallel regions it starts, and oneDNN bakes
 * {@code omp_get_max_threads()} of the creating thread into each primitive. The JavaCPP dnnl preset does not map
 * {@code omp_set_num_threads}, and calling a C function without generated JNI needs the Foreign Function API
 * ({@code java.lang.foreign}, final in Java 22). It is reached by reflection so that this library still runs on Java
 * 17: there, {@link #unavailableReason()} says why and {@code OMP_NUM_THREADS} remains the way to bound threads.
 * On Java 22+ the JVM prints a one-time "restricted method" warning unless started with
 * {@code --enable-native-access=ALL-UNNAMED} (JavaCPP's own {@code System.load} triggers the same warning).
 */
public final class IntraOpThreads {

    private IntraOpThreads() {
    }

    /** Why the thread count cannot be set from Java in this JVM, or null when it can. */
    public static String unavailableReason() {
        return Native.PROBLEM;
    }

    /** Sets the OpenMP thread count of the calling thread (its later parallel regions and primitive creations). */
    public static void setForCurrentThread(int threads) {
        String p = ThreadLimit.problem("intra-op threads", threads);
        if (p != null) throw new IllegalArgumentException(p);
        set(threads);
    }

    /** {@link #setForCurrentThread} without the range check (the workspace's count was checked in its options). */
    static void set(int threads) {
        requireAvailable();
        try {
            Native.SET.invokeExact(threads);
        } catch (Throwable e) {
            throw new IllegalStateException("omp_set_num_threads(" + threads + ") failed", e);
        }
    }

    /** {@code omp_get_max_threads()} on the calling thread: the team size its next parallel region would get. */
    public static int currentThreadMax() {
        requireAvailable();
        try {
            return (int) Native.GET.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("omp_get_max_threads() failed", e);
        }
    }

    private static void requireAvailable() {
        if (Native.PROBLEM != null) throw new IllegalStateException(Native.PROBLEM);
    }

    /** The downcall handles, looked up once (after oneDNN and its OpenMP runtime are loaded). */
    private static final class Native {
        static final MethodHandle SET;
        static final MethodHandle GET;
        static final String PROBLEM;

        static {
            MethodHandle set = null;
            MethodHandle get = null;
            String problem = null;
            int feature = Runtime.version().feature();
            if (feature < 22) {
                problem = "setting intra-op threads in code needs Java 22 or later (java.lang.foreign calls omp_set_num_threads; "
                        + "this is Java " + feature + "); on Java 17-21 set OMP_NUM_THREADS before the JVM starts";
            } else {
                try {
                    Dnnl.engine(); // loads oneDNN and its OpenMP runtime
                    Object[] handles = lookUp();
                    if (handles == null) {
                        problem = "no loaded native library exports omp_set_num_threads (this oneDNN build has no OpenMP "
                                + "runtime: " + Loader.getLoadedLibraries().keySet() + "); set OMP_NUM_THREADS instead";
                    } else {
                        set = (MethodHandle) handles[0];
                        get = (MethodHandle) handles[1];
                    }
                } catch (ReflectiveOperationException | RuntimeException e) {
                    problem = "could not bind omp_set_num_threads through java.lang.foreign (" + e + "); set OMP_NUM_THREADS instead";
                }
            }
            SET = set;
            GET = get;
            PROBLEM = problem;
        }

        /** {set, get} from the first JavaCPP-loaded library that exports both, OpenMP runtimes (gomp, iomp5, omp, vcomp) first. */
        private static Object[] lookUp() throws ReflectiveOperationException {
            ForeignCalls ffm = ForeignCalls.load();
            for (String path : Loader.getLoadedLibraries().entrySet().stream()
                    .sorted((a, b) -> Boolean.compare(!isOpenMp(a.getKey()), !isOpenMp(b.getKey())))
                    .map(java.util.Map.Entry::getValue).filter(v -> v != null && !v.isEmpty()).toList()) {
                Object lookup = ffm.libraryLookup(Path.of(path));
                Optional<?> setSym = ffm.find(lookup, "omp_set_num_threads");
                Optional<?> getSym = ffm.find(lookup, "omp_get_max_threads");
                if (setSym.isPresent() && getSym.isPresent()) {
                    return new Object[]{ffm.downcall(setSym.get(), null, ffm.cInt), ffm.downcall(getSym.get(), ffm.cInt)};
                }
            }
            return null;
        }

        private static boolean isOpenMp(String library) {
            String l = library.toLowerCase(java.util.Locale.ROOT);
            return l.startsWith("gomp") || l.startsWith("iomp") || l.startsWith("omp") || l.startsWith("vcomp");
        }
    }
}
