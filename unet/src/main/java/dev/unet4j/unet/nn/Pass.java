package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.CallTrace.NodeRecord;
import dev.unet4j.unet.CallTrace.Outcome;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state of one UNet call (internal): workspace, conditioning, skip stack, the session's interceptor, capture set
 * and trace. Made by a session for each call and dropped afterwards; never shared between threads.
 *
 * <p>Tensor ownership inside the graph is single-owner except for tensors that are both the flowing hidden state and
 * a skip-stack entry: {@link #retain} gives such a tensor a second holder and {@link #release} closes a tensor when
 * its last holder lets go.
 */
public final class Pass {
    public final Kernels k;
    public final Workspace ws;
    final int callIndex;
    private final NodeInterceptor interceptor;
    private final Set<String> capture;
    private final Map<String, Tensor> captured;
    private final Map<String, Long> fullMacsByPath;
    private final IdentityHashMap<Tensor, Integer> holders = new IdentityHashMap<>();
    private final List<NodeRecord> records = new ArrayList<>();
    private long macs;
    /** MACs full compute would have done beyond {@link #macs} (nodes run on merged tokens, {@link NodeCall#proceedWith}). */
    private long saved;
    private int replacements;

    /** Time embedding the blocks receive ({@code [B, temb]}), owned by the caller of the pass. */
    public Tensor temb;
    private Tensor tembActivated;
    private Activation tembActivation;
    /** Encoder hidden states {@code [B, T, D]} (borrowed) and their additive mask bias {@code [B, T]} or null. */
    public Tensor context, contextBias;
    /** Target size of the next upsampler ({@code [h, w]}), or null for 2x. */
    public int[] upsampleSize;
    /** Optional extra MLP condition ({@code timestep_cond}). */
    public Tensor timestepCond;
    public final SkipStack skips;

    public Pass(Kernels k, Workspace ws, int callIndex, NodeInterceptor interceptor, Set<String> capture,
                Map<String, Tensor> captured, Map<String, Long> fullMacsByPath) {
        this.k = k;
        this.ws = ws;
        this.callIndex = callIndex;
        this.interceptor = interceptor;
        this.capture = capture == null || capture.isEmpty() ? null : capture;
        this.captured = captured;
        this.fullMacsByPath = fullMacsByPath;
        this.skips = new SkipStack(this, interceptor);
    }

    // ------------------------------------------------------------------ ownership

    /** Adds a holder to {@code t} (which already has its first, implicit one). */
    public void retain(Tensor t) {
        holders.merge(t, 2, (a, b) -> a + 1);
    }

    /** Drops one holder of {@code t}; closes it when none is left. Null is ignored. */
    public void release(Tensor t) {
        if (t == null) return;
        Integer n = holders.get(t);
        if (n == null) {
            t.close();
        } else if (n <= 2) {
            holders.remove(t); // back to a single, implicit holder
        } else {
            holders.put(t, n - 1);
        }
    }

    /** Whether {@code t} has more than one holder. */
    boolean shared(Tensor t) {
        return holders.containsKey(t);
    }

    // ------------------------------------------------------------------ conditioning helpers

    /** {@code act(temb)}, computed once per call (every resnet applies its nonlinearity to the same temb). */
    public Tensor tembActivated(Activation act) {
        if (tembActivated == null || tembActivation != act) {
            if (tembActivated != null) tembActivated.close();
            tembActivated = act.apply(this, temb);
            tembActivation = act;
        }
        return tembActivated;
    }

    /** Sets the time embedding (borrowed) and forgets the activated copy. */
    public void setTemb(Tensor t) {
        if (tembActivated != null) tembActivated.close();
        tembActivated = null;
        temb = t;
    }

    // ------------------------------------------------------------------ accounting

    public void addMacs(long n) {
        macs += n;
    }

    public long macs() {
        return macs;
    }

    /** Attention through the kernels, counting {@code 2 * B * H * Tq * Tk * D} MACs (scores and weighted sum). */
    public Tensor attention(Tensor q, Tensor key, Tensor v, int heads, float scale, Tensor bias) {
        macs += 2L * q.dim(0) * q.dim(1) * key.dim(1) * q.dim(2);
        return k.attention(ws, q, key, v, heads, scale, bias);
    }

    // ------------------------------------------------------------------ visiting nodes

    /** Whether the interceptor serves {@code path} on this call ({@link NodeInterceptor#serves}). */
    boolean served(String path) {
        return interceptor != null && interceptor.serves(path);
    }

    Tensor visit(Node node, Tensor x, Tensor residual) {
        long macs0 = macs, saved0 = saved;
        int repl0 = replacements;
        boolean observed = capture != null && capture.contains(node.path) && !(node instanceof LayerOf); // its unit captures
        Tensor out;
        Outcome outcome = Outcome.COMPUTED;
        if (interceptor == null) {
            if (residual == null) {
                out = node.forward(this, x);
            } else if (!observed) {
                out = node.forwardPlus(this, x, residual);
            } else {
                out = node.forward(this, x);
            }
        } else {
            Call call = new Call(node, x, residual);
            try {
                out = interceptor.intercept(call);
            } finally {
                call.done = true;
            }
            if (out == null) throw new IllegalStateException("interceptor returned null at " + node.path);
            if (out == x) {
                // the node handed back its input (passThrough): a block's caller (the encode/decode loops) releases
                // through the pass, so one more holder suffices; elsewhere the caller may close its input, so a copy
                if (node.level() == NodeLevel.BLOCK) retain(x);
                else out = Layouts.sameLayoutCopy(ws.allocator(), x);
            }
            if (call.reduced) {
                // the node ran on other (merged) tokens and the interceptor made its output from that result
                if (call.reducedFull < 0) replacements++;               // its full cost is unknown: so is its parents'
                else saved += call.reducedFull - call.reducedDone;
                if (out != call.result && call.result != null && !call.result.isClosed()) release(call.result);
            } else if (out != call.result && call.result != null && call.result.isClosed() && out.sameElements(call.result)) {
                // the interceptor kept the computed result (its buffer moved, e.g. into a feature cache) and hands
                // on a view of it: still this node's own output
            } else if (out != call.result) {
                outcome = Outcome.REPLACED;
                replacements++;
                if (call.result != null) release(call.result);
            }
        }
        if (observed) capture(node.path, out);
        if (residual != null && (interceptor != null || observed)) {
            Tensor sum = k.add(ws, out, residual, 1f, 1f);
            release(out);
            out = sum;
        }
        long done = macs - macs0;
        records.add(new NodeRecord(node.path, node.level(), node.kind(), done, outcome));
        if (outcome == Outcome.COMPUTED && repl0 == replacements && fullMacsByPath != null) {
            fullMacsByPath.put(node.path, done + saved - saved0);
        }
        return out;
    }

    /** Records a stem computation that is not a {@link Node} (no interceptor), e.g. the output activation. */
    void recordPlain(String path, NodeLevel level, NodeKind kind, long macsDone) {
        records.add(new NodeRecord(path, level, kind, macsDone, Outcome.COMPUTED));
    }

    /** Copies {@code t} into the capture map under {@code name} when it is requested. */
    public void captureIfRequested(String name, Tensor t) {
        if (captures(name)) capture(name, t);
    }

    /** Whether {@code name} is to be captured (a fused path may then compute an intermediate it otherwise skips). */
    public boolean captures(String name) {
        return capture != null && capture.contains(name);
    }

    private void capture(String name, Tensor t) {
        Tensor old = captured.put(name, copyOf(t));
        if (old != null) old.close();
    }

    /** A contiguous copy of {@code t} from the session's allocator. */
    public Tensor copyOf(Tensor t) {
        return t.copy(ws.allocator());
    }

    /** The trace of this pass; {@code topLevel} are the paths whose full costs sum to a whole call. */
    public CallTrace trace(List<String> topLevel) {
        long full = 0;
        for (String p : topLevel) {
            Long m = fullMacsByPath == null ? null : fullMacsByPath.get(p);
            if (m == null) {
                full = -1;
                break;
            }
            full += m;
        }
        return new CallTrace(records, macs, full);
    }

    /** Frees per-pass temporaries. */
    public void finish() {
        if (tembActivated != null) tembActivated.close();
        tembActivated = null;
    }

    private final class Call implements NodeCall {
        private final Node node;
        private final Tensor input, residual;
        Tensor result;
        boolean proceeded, done, reduced;
        long reducedDone, reducedFull;

        Call(Node node, Tensor input, Tensor residual) {
            this.node = node;
            this.input = input;
            this.residual = residual;
        }

        @Override
        public String path() {
            return node.path;
        }

        @Override
        public NodeLevel level() {
            return node.level();
        }

        @Override
        public NodeKind kind() {
            return node.kind();
        }

        @Override
        public int callIndex() {
            return callIndex;
        }

        @Override
        public Tensor input() {
            return input;
        }

        @Override
        public Tensor temb() {
            return temb;
        }

        @Override
        public Tensor encoderHiddenStates() {
            return context;
        }

        @Override
        public Tensor proceed() {
            if (done) throw new IllegalStateException("NodeCall used after the interceptor returned (" + node.path + ")");
            if (proceeded) throw new IllegalStateException("proceed() called twice at " + node.path);
            proceeded = true;
            result = node.forward(Pass.this, input);
            return result;
        }

        @Override
        public Tensor residual() {
            return residual;
        }

        @Override
        public Tensor proceedWith(Tensor other) {
            if (done) throw new IllegalStateException("NodeCall used after the interceptor returned (" + node.path + ")");
            if (proceeded) throw new IllegalStateException("proceed() called twice at " + node.path);
            if (!(node instanceof Attention || node instanceof FeedForward) || other.rank() != 3 || input.rank() != 3
                    || other.dim(0) != input.dim(0) || other.dim(2) != input.dim(2)) {
                throw new UnsupportedOperationException("proceedWith at " + node.path + " (" + node.kind() + ", input "
                        + input + "): only a transformer block's attn1/attn2/ff, on [B, T', C] tokens of the input's B and C; got " + other);
            }
            proceeded = true;
            reduced = true;
            long m0 = macs;
            result = node.forward(Pass.this, other);
            reducedDone = macs - m0;
            reducedFull = node.macsFor(Pass.this, input);
            return result;
        }

        @Override
        public void addMacs(long n) {
            macs += n;
            saved -= n;           // work full compute would not do: not part of the node's full cost
        }

        @Override
        public Tensor passThrough() {
            return input; // visit() gives the graph its own holder (a block) or copy (any other node)
        }

        @Override
        public boolean exclusive(Tensor t) {
            return t.isOwner() && !t.isClosed() && t != input && !shared(t);
        }

        @Override
        public Workspace workspace() {
            return ws;
        }

        @Override
        public Kernels kernels() {
            return k;
        }
    }
}
