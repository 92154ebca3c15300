package dev.unet4j.unet;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Batches;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.UNetGraph;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Per-thread state for running a {@link UNetModel}: a {@link PoolingAllocator} and {@link Workspace} (so repeated
 * calls of the same shapes allocate no new native memory), the {@link NodeInterceptor}, the capture set and the trace
 * of the last call. Not thread-safe; use one session per thread. Results returned to the caller come from the
 * session's pool: close them (they return to the pool), and do not use them after the session is closed (closing
 * the session frees all of its memory, including tensors a failed call left behind). A session used from a second
 * thread while a call runs (or closed during one) throws {@link IllegalStateException} before touching native memory.
 */
public final class UNetSession implements AutoCloseable {
    private final UNetModel model;
    private final UNetGraph graph;
    private final PoolingAllocator pool = new PoolingAllocator();
    private final Workspace ws;
    private NodeInterceptor interceptor;
    private final Set<String> capture = new LinkedHashSet<>();
    private final Map<String, Tensor> captured = new LinkedHashMap<>();
    private final Map<String, Map<String, Long>> fullMacs = new HashMap<>();
    private CallTrace lastTrace;
    private int calls;
    private boolean closed;
    /** The thread inside a call (or close) of this session, null when idle: a second thread is refused. */
    private final AtomicReference<Thread> owner = new AtomicReference<>();
    private int depth;
    /** Models with a call running on the current thread (to refuse a close from inside one). */
    private static final ThreadLocal<ArrayDeque<UNetModel>> CALLING = ThreadLocal.withInitial(ArrayDeque::new);

    UNetSession(UNetModel model) {
        this.model = model;
        this.graph = model.graph();
        this.ws = model.kernels().newWorkspace(pool);
    }

    public UNetModel model() {
        return model;
    }

    /** Sets (or clears, with null) the interceptor consulted at every node of later calls. */
    public void setInterceptor(NodeInterceptor interceptor) {
        this.interceptor = interceptor;
    }

    public NodeInterceptor interceptor() {
        return interceptor;
    }

    /**
     * Adds names to capture in later calls: any node path ({@code down_blocks.1.attentions.0}, {@code time_proj},
     * {@code conv_norm_out}, ...) or {@code skip.k}. Captured copies are available from {@link #captured} until the
     * next call.
     */
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

    /** Every capture of the last call. */
    public Map<String, Tensor> captures() {
        return java.util.Collections.unmodifiableMap(captured);
    }

    /** What the last call did, or null before the first. */
    public CallTrace lastTrace() {
        return lastTrace;
    }

    /** Number of calls made (the next call's index). */
    public int callCount() {
        return calls;
    }

    /** The session's allocator (for interceptors and tests). */
    public PoolingAllocator allocator() {
        return pool;
    }

    public Workspace workspace() {
        return ws;
    }

    // ------------------------------------------------------------------ calls

    /** One full UNet call: the model output {@code [B, out_channels, H, W]}, owned by the caller. */
    public Tensor forward(UNetInputs in) {
        enter();
        try {
            int batch = batchOf(in);
            graph.validate(in, batch, true);
            Pass p = begin(signature(in.sample().shape(), in));
            Tensor emb = null, bias = null, mid = null;
            try {
                bias = graph.condition(p, in);
                emb = graph.embed(p, in, batch);
                p.setTemb(emb);
                mid = graph.encode(p, in);
                return graph.decode(p, mid, in, batch);
            } finally {
                p.release(mid);
                end(p, emb, bias);
            }
        } finally {
            exit();
        }
    }

    /**
     * The encoder half: embeddings, conv_in, down blocks, mid block (and ControlNet residuals). The state is owned by
     * the caller.
     */
    public EncoderState encode(UNetInputs in) {
        enter();
        try {
            int batch = batchOf(in);
            graph.validate(in, batch, true);
            Pass p = begin(signature(in.sample().shape(), in));
            Tensor emb = null, bias = null;
            boolean ok = false;
            try {
                bias = graph.condition(p, in);
                emb = graph.embed(p, in, batch);
                p.setTemb(emb);
                Tensor mid = graph.encode(p, in);
                EncoderState s = new EncoderState(emb, p.skips.drain(), mid, in.sample().shape());
                ok = true;
                return s;
            } finally {
                end(p, ok ? null : emb, bias);
            }
        } finally {
            exit();
        }
    }

    /**
     * The decoder half from {@code state} (not consumed), with the time embedding of {@code in.timestep()} and
     * {@code in}'s conditioning ({@code in.sample()} is ignored): output {@code [B, out_channels, H, W]}.
     */
    public Tensor decode(EncoderState state, UNetInputs in) {
        enter();
        try {
            int batch = state.batch();
            graph.validate(in, batch, false);
            if (in.downBlockAdditionalResiduals() != null) {
                throw new IllegalArgumentException("ControlNet residuals belong to encode(), not decode()");
            }
            Pass p = begin(signature(state.sampleShape(), in));
            Tensor emb = null, bias = null;
            try {
                bias = graph.condition(p, in);
                emb = graph.embed(p, in, batch);
                p.setTemb(emb);
                for (Tensor s : state.skips()) p.skips.pushBorrowed(s);
                return graph.decode(p, state.mid(), in, batch);
            } finally {
                end(p, emb, bias);
            }
        } finally {
            exit();
        }
    }

    /**
     * The decoder half at several timesteps in one batched call (Faster-Diffusion's parallel decoding): item
     * {@code k * B + b} of the {@code [K*B, out_channels, H, W]} output is the decode of sample {@code b} at
     * {@code timesteps.get(k)}. The encoder features and {@code in}'s conditioning (for B items) are tiled K times.
     */
    public Tensor decodeBatched(EncoderState state, UNetInputs in, List<Timestep> timesteps) {
        enter();
        try {
            int b = state.batch(), k = timesteps.size();
            if (k == 0) throw new IllegalArgumentException("decodeBatched needs at least one timestep");
            graph.validate(in, b, false);
            double[] all = new double[k * b];
            for (int i = 0; i < k; i++) System.arraycopy(timesteps.get(i).resolve(b, model.timestepRule()), 0, all, i * b, b);
            java.util.List<Tensor> tiled = new java.util.ArrayList<>();
            try {
                java.util.function.UnaryOperator<Tensor> tile = t -> {
                    if (t == null) return null;
                    Tensor r = Batches.tile(pool, t, k);
                    tiled.add(r);
                    return r;
                };
                java.util.List<Tensor> skips = new java.util.ArrayList<>();
                for (Tensor t : state.skips()) skips.add(tile.apply(t));
                Tensor mid = tile.apply(state.mid());
                Tensor temb = tile.apply(state.temb());
                long[] shape = state.sampleShape();
                shape[0] = (long) k * b;
                UNetInputs batched = new UNetInputs(null, Timestep.float64(all), tile.apply(in.encoderHiddenStates()),
                        tile.apply(in.encoderAttentionMask()), tile.apply(in.classLabels()), tile.apply(in.timestepCond()),
                        null, null, tile.apply(in.textEmbeds()), tile.apply(in.timeIds()));
                EncoderState big = new EncoderState(temb, skips, mid, shape);
                return decode(big, batched);
            } finally {
                tiled.forEach(Tensor::close);
            }
        } finally {
            exit();
        }
    }

    /** Whether a call on {@code model} is running on this thread. */
    static boolean callingOn(UNetModel model) {
        return CALLING.get().contains(model);
    }

    private void enter() {
        Thread me = Thread.currentThread();
        if (owner.get() == me) {
            depth++; // decodeBatched -> decode
            return;
        }
        if (!owner.compareAndSet(null, me)) throw concurrentUse(me);
        try {
            if (closed) throw new IllegalStateException("session is closed");
            model.acquire();
        } catch (RuntimeException e) {
            owner.set(null);
            throw e;
        }
        depth = 1;
        CALLING.get().push(model);
    }

    private void exit() {
        if (--depth > 0) return;
        CALLING.get().pop();
        model.release();
        owner.set(null);
    }

    private IllegalStateException concurrentUse(Thread me) {
        Thread other = owner.get();
        return new IllegalStateException("UNetSession used from two threads at once (" + me.getName() + " while "
                + (other == null ? "another thread" : other.getName()) + " runs a call): a session is per-thread state, "
                + "give each thread its own (model.newSession())");
    }

    private static int batchOf(UNetInputs in) {
        if (in.sample() == null) throw new IllegalArgumentException("sample is required");
        if (in.sample().rank() != 4) throw new IllegalArgumentException("sample must be [B, C, H, W], got " + in.sample());
        return (int) in.sample().dim(0);
    }

    private static String signature(long[] sampleShape, UNetInputs in) {
        Tensor e = in.encoderHiddenStates();
        return Arrays.toString(sampleShape) + (e == null ? "" : Arrays.toString(e.shape()));
    }

    private Pass begin(String signature) {
        if (closed) throw new IllegalStateException("session is closed");
        for (Tensor t : captured.values()) t.close();
        captured.clear();
        Map<String, Long> full = fullMacs.computeIfAbsent(signature, k -> new HashMap<>());
        return new Pass(model.kernels(), ws, calls++, interceptor, capture, captured, full);
    }

    private void end(Pass p, Tensor emb, Tensor bias) {
        for (Tensor t : p.skips.drain()) p.release(t);
        p.finish();
        if (emb != null) emb.close();
        if (bias != null) bias.close();
        List<String> top = graph.topLevelPaths();
        lastTrace = p.trace(top);
    }

    @Override
    public void close() {
        Thread me = Thread.currentThread();
        if (owner.get() == me) throw new IllegalStateException("UNetSession.close() from inside one of its own calls");
        if (!owner.compareAndSet(null, me)) throw concurrentUse(me);
        try {
            if (closed) return;
            closed = true;
            for (Tensor t : captured.values()) t.close();
            captured.clear();
            ws.close();
            // also frees what a failed call (an exception from a node, an interceptor or a kernel) left unclosed
            pool.closeAll();
        } finally {
            owner.set(null);
        }
    }
}
