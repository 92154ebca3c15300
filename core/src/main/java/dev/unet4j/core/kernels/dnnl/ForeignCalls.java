package dev.unet4j.core.kernels.dnnl;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.Optional;

/**
 * C functions called through {@code java.lang.foreign} (final in Java 22), reached by reflection so that the library
 * keeps its Java 17 release level and still binds them where it runs on 22 or later: the native linker, symbol
 * lookups, the two C types used here ({@code int}, pointers) and C strings in the global arena. {@link #load()} fails
 * with {@link ReflectiveOperationException} on older runtimes; callers turn that into their own message.
 */
final class ForeignCalls {
    private final Class<?> linkerC, segmentC, layoutC, descC, lookupC, arenaC;
    private final Object linker, arena, noOptions;
    /** {@code ValueLayout.ADDRESS} and {@code ValueLayout.JAVA_INT}. */
    final Object address, cInt;
    private final Method find, downcallHandle, allocateFrom, reinterpret, getString, addressOf;

    private ForeignCalls() throws ReflectiveOperationException {
        linkerC = Class.forName("java.lang.foreign.Linker");
        segmentC = Class.forName("java.lang.foreign.MemorySegment");
        layoutC = Class.forName("java.lang.foreign.MemoryLayout");
        descC = Class.forName("java.lang.foreign.FunctionDescriptor");
        lookupC = Class.forName("java.lang.foreign.SymbolLookup");
        arenaC = Class.forName("java.lang.foreign.Arena");
        Class<?> valueC = Class.forName("java.lang.foreign.ValueLayout");
        linker = linkerC.getMethod("nativeLinker").invoke(null);
        arena = arenaC.getMethod("global").invoke(null);
        noOptions = Array.newInstance(Class.forName("java.lang.foreign.Linker$Option"), 0);
        address = valueC.getField("ADDRESS").get(null);
        cInt = valueC.getField("JAVA_INT").get(null);
        find = lookupC.getMethod("find", String.class);
        downcallHandle = linkerC.getMethod("downcallHandle", segmentC, descC, noOptions.getClass());
        allocateFrom = arenaC.getMethod("allocateFrom", String.class);
        reinterpret = segmentC.getMethod("reinterpret", long.class);
        getString = segmentC.getMethod("getString", long.class);
        addressOf = segmentC.getMethod("address");
    }

    static ForeignCalls load() throws ReflectiveOperationException {
        return new ForeignCalls();
    }

    /** The C library's symbols (libc on Linux). */
    Object defaultLookup() throws ReflectiveOperationException {
        return linkerC.getMethod("defaultLookup").invoke(linker);   // the interface's method: its class is internal
    }

    /** The symbols of the shared library at {@code path}, kept loaded for the process's lifetime. */
    Object libraryLookup(Path path) throws ReflectiveOperationException {
        return lookupC.getMethod("libraryLookup", Path.class, arenaC).invoke(null, path, arena);
    }

    /** Symbol {@code name} in {@code lookup}, or empty. */
    Optional<?> find(Object lookup, String name) throws ReflectiveOperationException {
        return (Optional<?>) find.invoke(lookup, name);
    }

    /** A handle calling {@code symbol} with C arguments {@code args}, returning {@code result} (null: void). */
    MethodHandle downcall(Object symbol, Object result, Object... args) throws ReflectiveOperationException {
        Object layouts = Array.newInstance(layoutC, args.length);
        for (int i = 0; i < args.length; i++) Array.set(layouts, i, args[i]);
        Object descriptor = result == null
                ? descC.getMethod("ofVoid", layouts.getClass()).invoke(null, layouts)
                : descC.getMethod("of", layoutC, layouts.getClass()).invoke(null, result, layouts);
        return (MethodHandle) downcallHandle.invoke(linker, symbol, descriptor, noOptions);
    }

    /** A NUL-terminated copy of {@code s} in the global arena (freed with the process: for a few short strings). */
    Object cString(String s) throws ReflectiveOperationException {
        return allocateFrom.invoke(arena, s);
    }

    /** The C string at {@code pointer} (a {@code MemorySegment}), or null for a null pointer. */
    String fromCString(Object pointer) throws ReflectiveOperationException {
        if ((long) addressOf.invoke(pointer) == 0) return null;
        return (String) getString.invoke(reinterpret.invoke(pointer, Long.MAX_VALUE), 0L);
    }
}
