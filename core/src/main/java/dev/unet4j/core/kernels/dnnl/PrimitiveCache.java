package dev.unet4j.core.kernels.dnnl;

import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/** Primitives by {@link Key}, each created exactly once even when several threads ask at the same time. */
final class PrimitiveCache implements AutoCloseable {
    /** Builds a primitive descriptor inside a scope that frees the temporary descriptors afterwards. */
    @FunctionalInterface
    interface DescBuilder {
        dnnl_primitive_desc build(Dnnl.Scope scope);
    }

    private final ConcurrentHashMap<Key, Primitive> map = new ConcurrentHashMap<>();

    /** The primitive for {@code key}, built on first use; {@code what} (for error messages) is only computed then. */
    Primitive get(Key key, Function<Key, String> what, DescBuilder builder) {
        Primitive p = map.get(key);
        if (p != null) return p;
        return map.computeIfAbsent(key, k -> create(what.apply(k), builder));
    }

    static Primitive create(String what, DescBuilder builder) {
        dnnl_primitive_desc pd;
        try (Dnnl.Scope scope = new Dnnl.Scope()) {
            pd = builder.build(scope);
        } catch (DnnlException e) {
            throw new DnnlException(e.status(), e.getMessage() + " [" + what + "]");
        }
        return new Primitive(pd, what);
    }

    @Override
    public void close() {
        map.values().forEach(Primitive::close);
        map.clear();
    }
}
