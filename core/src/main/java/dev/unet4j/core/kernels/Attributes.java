package dev.unet4j.core.kernels;

import java.util.HashMap;
import java.util.Map;

/** A small typed map of per-session settings, keyed by class. Not thread-safe (one per workspace). */
public final class Attributes {
    private final Map<Class<?>, Object> values = new HashMap<>();

    public <T> T get(Class<T> key) {
        return key.cast(values.get(key));
    }

    public <T> T getOrDefault(Class<T> key, T fallback) {
        T v = get(key);
        return v == null ? fallback : v;
    }

    public <T> void put(Class<T> key, T value) {
        if (value == null) values.remove(key);
        else values.put(key, value);
    }
}
