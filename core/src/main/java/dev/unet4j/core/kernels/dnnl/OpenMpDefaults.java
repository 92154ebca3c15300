package dev.unet4j.core.kernels.dnnl;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The OpenMP waiting default that holds up on busy cores: {@code GOMP_SPINCOUNT=3000}.
 *
 * <p>libgomp's own default lets an idle worker spin 300,000 times at every barrier before it sleeps. On cores that
 * other processes keep busy, that spinning eats the time slice the thread being waited for needs: the README grid took
 * 70 s instead of 12 s beside one busy process per core, an SD 1.5 32x32 forward 9.4 s instead of 2.0 s.
 * {@code OMP_WAIT_POLICY=PASSIVE} (no spinning) fixes busy cores but costs 19% on idle ones (2.41 s); 3,000 spins
 * (a few microseconds) kept both within a few percent of the best setting measured (docs/threads.md,
 * {@code scripts/bench-threads}).
 *
 * <p>libgomp reads its settings once, when the library loads, and a Java 17 JVM cannot change its own environment:
 * {@code bin/unet4j} exports the default, {@code java -jar unet4j.jar} reruns a computing command once in a child JVM
 * with it set, and on Java 22+ {@link #beforeNativeLoad} sets it in this process through {@code java.lang.foreign}
 * ({@code setenv}) before oneDNN and its OpenMP runtime load. Nothing is changed when the user set
 * {@code OMP_WAIT_POLICY} or {@code GOMP_SPINCOUNT}, or started the JVM with {@code -Dunet4j.omp.defaults=false}.
 */
public final class OpenMpDefaults {
    /** The variable set and its value. */
    public static final String VARIABLE = "GOMP_SPINCOUNT";
    public static final String VALUE = "3000";
    /** The system property that turns the in-process default off ({@code false}). */
    public static final String PROPERTY = "unet4j.omp.defaults";

    private static String status;

    private OpenMpDefaults() {
    }

    /** Whether an environment leaves OpenMP waiting to us: the user set neither of its variables. */
    public static boolean isUnset(Map<String, String> env) {
        return !env.containsKey("OMP_WAIT_POLICY") && !env.containsKey(VARIABLE);
    }

    /**
     * Sets the default in this process if it can and should; called by the classes that load oneDNN first. Returns
     * what happened (also {@link #status()}).
     */
    public static synchronized String beforeNativeLoad() {
        if (status == null) status = apply();
        return status;
    }

    /** What {@link #beforeNativeLoad} did, or null before it ran. */
    public static synchronized String status() {
        return status;
    }

    private static String apply() {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))) return "off (-D" + PROPERTY + "=false)";
        if (!isUnset(System.getenv())) return "left to the user's OMP_WAIT_POLICY / GOMP_SPINCOUNT";
        int feature = Runtime.version().feature();
        if (feature < 22) {
            return "not set in-process on Java " + feature + " (needs Java 22+); export " + VARIABLE + "=" + VALUE
                    + " before the JVM starts for cores shared with other work";
        }
        if (openMpLoaded()) return "too late: the OpenMP runtime was loaded before unet4j's kernels";
        try {
            int rc = Libc.SETENV == null ? -1 : (int) Libc.SETENV.invokeWithArguments(Libc.FFM.cString(VARIABLE), Libc.FFM.cString(VALUE), 0);
            return rc == 0 ? VARIABLE + "=" + VALUE + " set in-process" : "setenv failed (" + Libc.PROBLEM + ")";
        } catch (Throwable e) {
            return "setenv failed (" + e + ")";
        }
    }

    /** The C library's view of a variable (Java's {@code System.getenv} is a copy taken at start); Java 22+ only. */
    static String nativeValue(String name) throws Throwable {
        if (Libc.GETENV == null) throw new IllegalStateException(Libc.PROBLEM);
        return Libc.FFM.fromCString(Libc.GETENV.invokeWithArguments(Libc.FFM.cString(name)));
    }

    private static boolean openMpLoaded() {
        try {
            String maps = Files.readString(Path.of("/proc/self/maps"));
            return maps.contains("libgomp") || maps.contains("libiomp5") || maps.contains("libomp.");
        } catch (IOException | RuntimeException e) {
            return false; // not Linux: nothing to tell, setenv still comes first in practice
        }
    }

    /** setenv/getenv downcalls ({@link ForeignCalls}: java.lang.foreign by reflection, so that the class loads on Java 17). */
    private static final class Libc {
        static final MethodHandle SETENV;
        static final MethodHandle GETENV;
        static final String PROBLEM;
        /** Its C strings live in the global arena: a few short ones, once per process. */
        static final ForeignCalls FFM;

        static {
            MethodHandle set = null, get = null;
            ForeignCalls ffm = null;
            String problem = null;
            try {
                ffm = ForeignCalls.load();
                Object libc = ffm.defaultLookup();
                set = ffm.downcall(ffm.find(libc, "setenv").orElseThrow(), ffm.cInt, ffm.address, ffm.address, ffm.cInt);
                get = ffm.downcall(ffm.find(libc, "getenv").orElseThrow(), ffm.address, ffm.address);
            } catch (ReflectiveOperationException | RuntimeException e) {
                problem = "java.lang.foreign setenv/getenv unavailable: " + e;
                set = get = null;
            }
            SETENV = set;
            GETENV = get;
            FFM = ffm;
            PROBLEM = problem;
        }
    }
}
