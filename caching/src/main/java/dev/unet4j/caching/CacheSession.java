package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.EncoderState;
import dev.unet4j.unet.ForwardingNodeCall;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.SkipEvent;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/**
 * One generation's caching state over a {@link UNetSession}: installs itself as the session's interceptor, numbers
 * the UNet calls 0, 1, 2, ... (a call with index 0 after others starts a new generation and resets every cache),
 * runs each call through the policy and reports, per call, which nodes ran, MACs done vs full compute and the bytes
 * held. The model stays shared and untouched; everything here is per generation. Not thread-safe (one per session).
 *
 * <p>Skip bookkeeping: policies should keep the skip stack aligned (replace a pushing or popping block by its layers,
 * not whole, as {@link dev.unet4j.caching.policy.DeepCache} does), because the graph also reads upsample sizes from
 * the stack. As a safety net every pop is mapped to the skip index the popping layer receives in a full call
 * ({@link UNetStructure#poppedSkip}): a misplaced entry is served from this call's pushes, or from a policy's
 * {@link PolicyRun#cachedSkip}.
 */
public final class CacheSession implements AutoCloseable {
    private final UNetSession session;
    private final CachePolicy policy;
    private final GenerationInfo info;
    private final CacheOptions options;
    private final UNetStructure structure;
    private final NodeInterceptor previous;
    private final Hooks hooks = new Hooks();

    private CacheBudget budget;
    private List<PolicyRun> runs = List.of();
    private PolicyRun callLevel;
    private final List<CallReport> reports = new ArrayList<>();
    private int next;
    private long fullPerItem = -1;
    private boolean closed;

    // per-call state
    private int current = -1;
    private final List<Tensor> pushed = new ArrayList<>();
    private final Map<String, Integer> pops = new HashMap<>();
    private final List<String> computed = new ArrayList<>();
    private long macs;
    private long callFull;
    private CallTrace lastTrace;
    private String servedLabel;
    private GuidanceHalves halvesNow = GuidanceHalves.UNGUIDED;

    private CacheSession(UNetSession session, CachePolicy policy, GenerationInfo info, CacheOptions options) {
        this.session = session;
        this.policy = policy;
        this.info = info;
        this.options = options;
        this.structure = new UNetStructure(session.model());
        this.previous = session.interceptor();
        start();
        session.setInterceptor(hooks);
    }

    /** Starts caching on {@code session} (its interceptor is restored on {@link #close}). */
    public static CacheSession open(UNetSession session, CachePolicy policy, GenerationInfo info, CacheOptions options) {
        return new CacheSession(session, policy, info, options);
    }

    public static CacheSession open(UNetSession session, CachePolicy policy, GenerationInfo info) {
        return open(session, policy, info, CacheOptions.unbounded());
    }

    public CachePolicy policy() {
        return policy;
    }

    public UNetSession unetSession() {
        return session;
    }

    public UNetStructure structure() {
        return structure;
    }

    public GenerationInfo info() {
        return info;
    }

    /** The index the next call gets. */
    public int nextCallIndex() {
        return next;
    }

    /**
     * What the policies do to the sampler's latents at each step start, for the generation's
     * {@link dev.unet4j.samplers.SamplingRequest#withLatentHook}; null when no policy edits latents (e.g.
     * {@code faster:...,noise=0.003} does). The pipeline module's {@code CachedRunModel} passes it for a
     * {@code Pipeline}; a sampler driven by hand must be given it, or those policies
     * only act on the UNet calls. It follows the session across generations: a step start whose first call is
     * call 0 after other calls starts a new generation, as {@link #call} does.
     */
    public LatentHook latentHook() {
        if (runs.stream().allMatch(r -> r.latentHook() == null)) return null;
        return (step, x) -> {
            if (closed) throw new IllegalStateException("cache session is closed");
            if (step.callIndex() == 0 && next > 0) reset();
            if (step.callIndex() != next) {
                throw new IllegalStateException("step " + step.stepIndex() + " starts at call " + step.callIndex()
                        + " but the cache session expects call " + next);
            }
            Latents y = x;
            for (PolicyRun r : runs) {
                LatentHook h = r.latentHook();
                if (h != null) y = h.beforeStep(step, y);
            }
            return y;
        };
    }

    /** The next UNet call of this generation; output owned by the caller. */
    public Tensor call(UNetInputs in) {
        return call(next, in);
    }

    /**
     * UNet call {@code callIndex} (must be the next one, or 0 to start a new generation); output owned by the
     * caller.
     */
    public Tensor call(int callIndex, UNetInputs in) {
        return call(callIndex, in, GuidanceHalves.UNGUIDED);
    }

    /**
     * Whether guided call {@code callIndex} at UNet timestep {@code timestep} runs only its conditional half (some
     * policy supplies the unconditional prediction): then make it with {@link #callConditionalOnly}, else with
     * {@link #callGuided}. Call 0 after other calls starts a new generation here already.
     */
    public boolean conditionalOnly(int callIndex, double timestep) {
        if (closed) throw new IllegalStateException("cache session is closed");
        if (callIndex == 0 && next > 0) reset();
        boolean drop = false;
        for (PolicyRun r : runs) drop |= r.dropsUnconditional(callIndex, timestep);   // every run learns the call's timestep
        return drop;
    }

    /** A guided call running both halves: {@code in} is batched {@code [uncond; cond]}; returns {@code [uncond; cond]}. */
    public Tensor callGuided(int callIndex, UNetInputs in) {
        return call(callIndex, in, GuidanceHalves.BOTH);
    }

    /**
     * A guided call running only its conditional half ({@code in}, batch B; {@link #conditionalOnly} said so): the
     * policy that dropped the unconditional half supplies it, and the result is {@code [uncond; cond]} (2B), so the
     * guidance combines as usual. The call's full-compute MACs are those of the 2B call it replaces.
     */
    public Tensor callConditionalOnly(int callIndex, UNetInputs in) {
        return call(callIndex, in, GuidanceHalves.COND_ONLY);
    }

    private Tensor call(int callIndex, UNetInputs in, GuidanceHalves halves) {
        if (closed) throw new IllegalStateException("cache session is closed");
        if (callIndex == 0 && next > 0) reset();
        if (callIndex != next) {
            throw new IllegalStateException("UNet call " + callIndex + " out of order: the cache session expects call " + next);
        }
        if (callIndex >= info.totalCalls()) {
            throw new IllegalStateException("call " + callIndex + " beyond the " + info.totalCalls() + " calls this generation was opened for");
        }
        next++;
        current = callIndex;
        computed.clear();
        macs = 0;
        callFull = -1;
        lastTrace = null;
        servedLabel = null;
        long t0 = System.nanoTime();
        Tensor out;
        halvesNow = halves;
        for (PolicyRun r : runs) r.halves(callIndex, halves);
        for (PolicyRun r : runs) r.beginCall(callIndex, in);
        Runner runner = new Runner();
        out = callLevel != null ? callLevel.runCall(callIndex, in, runner) : runner.forward(in);
        if (!out.isOwner()) {                         // a view of a cache entry (a policy served the last node): own it
            Tensor view = out;
            out = session.model().kernels().copy(session.workspace(), view);
            view.close();
        }
        if (halves == GuidanceHalves.COND_ONLY) out = withUnconditional(callIndex, out);
        else if (halves == GuidanceHalves.BOTH) for (PolicyRun r : runs) r.guidedOutput(callIndex, out);
        for (PolicyRun r : runs) r.endCall(callIndex, lastTrace);
        long nanos = System.nanoTime() - t0;
        int batch = (int) out.dim(0);
        long full = fullPerItem > 0 ? fullPerItem * batch : callFull;
        reports.add(new CallReport(callIndex, label(callIndex), computed, macs, full, bytesHeld(), nanos));
        current = -1;
        return out;
    }

    /** {@code [uncond; cond]} from a conditional-only call's output {@code cond} (closed here). */
    private Tensor withUnconditional(int callIndex, Tensor cond) {
        Kernels k = session.model().kernels();
        Workspace ws = session.workspace();
        try {
            Tensor uncond = null;
            for (PolicyRun r : runs) {
                uncond = r.unconditional(callIndex, cond, k, ws);
                if (uncond != null) break;
            }
            if (uncond == null) {
                throw new IllegalStateException("call " + callIndex + " ran only the conditional half but no policy supplied the unconditional one");
            }
            try {
                if (!Arrays.equals(uncond.shape(), cond.shape())) {
                    throw new IllegalStateException("call " + callIndex + ": unconditional prediction " + Arrays.toString(uncond.shape())
                            + " for a conditional one " + Arrays.toString(cond.shape()));
                }
                float[] u = uncond.toFloatArray(), c = cond.toFloatArray();
                float[] both = Arrays.copyOf(u, u.length + c.length);
                System.arraycopy(c, 0, both, u.length, c.length);
                long[] shape = cond.shape();
                shape[0] *= 2;
                return Tensor.of(both, shape);                            // [2B, C, H, W]
            } finally {
                uncond.close();
            }
        } finally {
            cond.close();
        }
    }

    private String label(int callIndex) {
        StringJoiner j = new StringJoiner(" ");
        if (servedLabel != null) j.add(servedLabel);
        if (halvesNow == GuidanceHalves.COND_ONLY) j.add("cond-only");
        for (PolicyRun r : runs) {
            String l = r.label(callIndex);
            if (!l.isEmpty()) j.add(l);
        }
        return j.length() == 0 ? "full" : j.toString();
    }

    /** Whether some policy serves node {@code path} from its cache on the current call. */
    private boolean served(String path) {
        for (PolicyRun r : runs) if (r.serves(path)) return true;
        return false;
    }

    /** Whether some policy keeps node {@code path}'s output of the current call for later calls. */
    private boolean kept(String path) {
        for (PolicyRun r : runs) if (r.keeps(path)) return true;
        return false;
    }

    /** Bytes every policy holds now. */
    public long bytesHeld() {
        long b = 0;
        for (PolicyRun r : runs) b += r.bytesHeld();
        return b;
    }

    /** The calls so far. */
    public GenerationReport report() {
        return new GenerationReport(policy.spec(), reports, budget.peak());
    }

    /** Drops every cache and starts the generation over at call 0. */
    public void reset() {
        closeRuns();
        start();
    }

    private void start() {
        budget = new CacheBudget(options);
        RunContext ctx = new RunContext(session.model(), structure, info, budget, this::served, this::kept);
        List<PolicyRun> list = new ArrayList<>();
        callLevel = null;
        try {
            for (CachePolicy p : CachePolicies.parts(policy)) {
                PolicyRun r = p.start(ctx);
                list.add(r);
                if (p.callLevel()) callLevel = r;
            }
        } catch (RuntimeException e) {
            for (PolicyRun r : list) r.close();
            throw e;
        }
        runs = List.copyOf(list);
        reports.clear();
        next = 0;
        fullPerItem = -1;
    }

    private void closeRuns() {
        for (PolicyRun r : runs) r.close();
        runs = List.of();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        closeRuns();
        if (session.interceptor() == hooks) session.setInterceptor(previous);
    }

    // ------------------------------------------------------------------ tracing

    private void record(CallTrace t, int batch) {
        lastTrace = t;
        for (CallTrace.NodeRecord r : t.nodes()) {
            if (r.outcome() == CallTrace.Outcome.COMPUTED) computed.add(r.path());
        }
        macs += t.macsDone();
        if (t.fullMacs() > 0) {
            callFull = t.fullMacs();
            if (fullPerItem < 0) fullPerItem = t.fullMacs() / batch;
        }
    }

    private void beginPass() {
        pushed.clear();
        pops.clear();
    }

    private final class Runner implements CallRunner {
        @Override
        public Tensor forward(UNetInputs in) {
            beginPass();
            Tensor out = session.forward(in);
            record(session.lastTrace(), (int) out.dim(0));
            return out;
        }

        @Override
        public EncoderState encode(UNetInputs in) {
            beginPass();
            EncoderState s = session.encode(in);
            record(session.lastTrace(), s.batch());
            return s;
        }

        @Override
        public Tensor decode(EncoderState state, UNetInputs in) {
            beginPass();
            Tensor out = session.decode(state, in);
            record(session.lastTrace(), state.batch());
            return out;
        }

        @Override
        public Kernels kernels() {
            return session.model().kernels();
        }

        @Override
        public Workspace workspace() {
            return session.workspace();
        }

        @Override
        public void servedFromBatch(int batchedAtCall, int callsInBatch) {
            servedLabel = "batched@" + batchedAtCall + "/" + callsInBatch;
        }
    }

    // ------------------------------------------------------------------ interceptor

    private final class Hooks implements NodeInterceptor {
        @Override
        public Tensor intercept(NodeCall call) {
            if (current < 0) return call.proceed();               // a call made outside call(): leave it alone
            return invoke(0, call, new Holder());
        }

        private Tensor invoke(int i, NodeCall base, Holder h) {
            if (i == runs.size()) {
                h.real = base.proceed();
                return h.real;
            }
            Link next = new Link(base, i + 1, h);
            Tensor x = runs.get(i).intercept(next, current);
            Tensor inner = next.result;
            if (inner != null && x != inner && inner != h.real && inner != base.input()) inner.close();
            return x;
        }

        @Override
        public boolean serves(String path) {
            return current >= 0 && served(path);
        }

        @Override
        public Tensor onSkipPush(SkipEvent event) {
            if (current >= 0) pushed.add(event.tensor());
            return event.tensor();
        }

        @Override
        public Tensor onSkipPop(SkipEvent event) {
            if (current < 0) return event.tensor();
            int u = upBlockIndex(event.node());
            int j = pops.merge(event.node(), 1, Integer::sum) - 1;
            int expected = structure.poppedSkip(u, j);
            Kernels k = session.model().kernels();
            Workspace ws = session.workspace();
            Tensor t;
            if (event.index() == expected) {
                t = event.tensor();
            } else if (expected < pushed.size()) {
                t = k.copy(ws, pushed.get(expected));              // still on the stack below the popped entry
            } else {
                t = null;
                for (PolicyRun r : runs) {
                    t = r.cachedSkip(expected, current, k, ws);
                    if (t != null) break;
                }
                if (t == null) {
                    throw new IllegalStateException(event.node() + " needs skip." + expected + " on call " + current
                            + ", which this call did not push and no policy kept");
                }
            }
            if (served(structure.upLayerNodes(u, j).get(0))) return t;   // its consumer is served: nothing reads it
            for (PolicyRun r : runs) {
                Tensor t2 = r.transformSkip(event, expected, t, k, ws);
                if (t2 != t && t != event.tensor()) t.close();
                t = t2;
            }
            return t;
        }

        private int upBlockIndex(String node) {
            if (!node.startsWith("up_blocks.")) throw new IllegalStateException("skip popped by " + node + ", not an up block");
            return Integer.parseInt(node.substring("up_blocks.".length()));
        }
    }

    private static final class Holder {
        Tensor real;
    }

    /** The call as policy {@code i-1} sees it: proceed() runs the policies after it, then the node. */
    private final class Link extends ForwardingNodeCall {
        private final int nextPolicy;
        private final Holder holder;
        Tensor result;
        private boolean proceeded;

        Link(NodeCall base, int nextPolicy, Holder holder) {
            super(base);
            this.nextPolicy = nextPolicy;
            this.holder = holder;
        }

        @Override
        public int callIndex() {
            return current;
        }

        @Override
        public Tensor proceed() {
            if (proceeded) throw new IllegalStateException("proceed() called twice at " + base.path());
            proceeded = true;
            result = hooks.invoke(nextPolicy, base, holder);
            return result;
        }
    }
}
