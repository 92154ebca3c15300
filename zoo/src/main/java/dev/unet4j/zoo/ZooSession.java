package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.nn.Pass;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Per-thread state for running a {@link ZooModel}: a pooling allocator and workspace, the {@link NodeInterceptor}
 * consulted at every named node, the capture set (any node path, or a sub-module path such as
 * {@code encoder2.0.pconv1.1}, named as torch forward hooks name them) and the captures of the last call. Not
 * thread-safe. Results come from the session's pool: close them, and do not use them after the session is closed.
 */
public final class ZooSession implements AutoCloseable {
    private final ZooModel<?> model;
    private final PoolingAllocator pool = new PoolingAllocator();
    private final Workspace ws;
    private NodeInterceptor interceptor;
    private final Set<String> capture = new LinkedHashSet<>();
    private final Map<String, Tensor> captured = new LinkedHashMap<>();
    private int calls;
    private long lastMacs;
    private boolean closed;

    ZooSession(ZooModel<?> model) {
        this.model = model;
        this.ws = model.kernels().newWorkspace(pool);
    }

    public ZooModel<?> model() {
        return model;
    }

    public void setInterceptor(NodeInterceptor interceptor) {
        this.interceptor = interceptor;
    }

    public void capture(Collection<String> names) {
        capture.addAll(names);
    }

    public void capture(String... names) {
        capture(Arrays.asList(names));
    }

    public void clearCapture() {
        capture.clear();
    }

    /** The copy of {@code name} taken during the last call (session-owned, do not close), or null. */
    public Tensor captured(String name) {
        return captured.get(name);
    }

    public Map<String, Tensor> captures() {
        return Collections.unmodifiableMap(captured);
    }

    /** Multiply-accumulates of the last call's convolutions. */
    public long lastMacs() {
        return lastMacs;
    }

    public Workspace workspace() {
        return ws;
    }

    /** One full call on input {@code x}: the outputs under the fixtures' names, owned by the caller. */
    public Map<String, Tensor> forward(Tensor x) {
        model.validate(x);
        return run(p -> model.run(p, x));
    }

    /** Runs {@code body} in a new pass of this session (for model-specific calls such as UNet++'s pruned depths). */
    public <T> T run(Function<Pass, T> body) {
        if (closed) throw new IllegalStateException("session is closed");
        for (Tensor t : captured.values()) t.close();
        captured.clear();
        Pass p = new Pass(model.kernels(), ws, calls++, interceptor, capture, captured, null);
        try {
            return body.apply(p);
        } finally {
            p.finish();
            lastMacs = p.macs();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Tensor t : captured.values()) t.close();
        captured.clear();
        ws.close();
        pool.closeAll();
    }
}
