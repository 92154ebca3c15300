package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.unet.ForwardingNodeCall;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.SkipEvent;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;

import java.util.Arrays;

/**
 * One generation's caching state over a {@link UNetSession}: installs itself as the session's interceptor, numbers
 * the UNet calls 0, 1, 2, ... ({@link CallOrder}: a call with index 0 after others starts a new generation and resets
 * every cache), runs each call through the policy's runs ({@link PolicyRuns}) and reports, per call, which nodes ran,
 * MACs done vs full compute and the bytes held ({@link CallRecorder}). The model stays shared and untouched; everything
 * here is per generation. Not thread-safe (one per session).
 *
 * <p>Skip bookkeeping: policies should keep the skip stack aligned; {@link SkipRepair} maps every pop to the skip the
 * popping layer receives in a full call, as a safety net.
 */
public final class CacheSession implements AutoCloseable {
    private final UNetSession session;
    private final CachePolicy policy;
    private final GenerationInfo info;
    private final CacheOptions options;
    private final UNetStructure structure;
    private final NodeInterceptor previous;
    private final Hooks hooks = new Hooks();
    private final CallOrder order;
    private final CallRecorder recorder = new CallRecorder();
    private final SkipRepair skips;
    private final TracedRunner runner;

    private CacheBudget budget;
    private PolicyRuns runs;
    private boolean closed;

    private CacheSession(UNetSession session, CachePolicy policy, GenerationInfo info, CacheOptions options) {
        this.session = session;
        this.policy = policy;
        this.info = info;
        this.options = options;
        this.structure = new UNetStructure(session.model());
        this.order = new CallOrder(info.totalCalls());
        this.skips = new SkipRepair(structure);
        this.runner = new TracedRunner(session, recorder, skips);
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
        return order.next();
    }

    /**
     * What the policies do to the sampler's latents at each step start, for the generation's
     * {@link dev.unet4j.samplers.SamplingRequest#withLatentHook}; null when no policy edits latents (e.g.
     * {@code faster:...,noise=0.003} does). The pipeline module's {@code CachedRunModel} passes it for a
     * {@code Pipeline}; a sampler driven by hand must be given it, or those policies only act on the UNet calls. It
     * follows the session across generations: a step start whose first call is call 0 after other calls starts a new
     * generation, as {@link #call} does.
     */
    public LatentHook latentHook() {
        if (!runs.editsLatents()) return null;
        return (step, x) -> {
            beginGeneration(step.callIndex());
            order.checkStepStart(step.stepIndex(), step.callIndex());
            return runs.beforeStep(step, x);
        };
    }

    /** The next UNet call of this generation; output owned by the caller. */
    public Tensor call(UNetInputs in) {
        return call(order.next(), in);
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
        beginGeneration(callIndex);
        return runs.dropsUnconditional(callIndex, timestep);
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

    /** Refuses a closed session; call 0 after other calls resets every cache. */
    private void beginGeneration(int callIndex) {
        if (closed) throw new IllegalStateException("cache session is closed");
        if (order.restartsAt(callIndex)) reset();
    }

    private Tensor call(int callIndex, UNetInputs in, GuidanceHalves halves) {
        beginGeneration(callIndex);
        order.begin(callIndex);
        recorder.beginCall();
        long t0 = System.nanoTime();
        runs.beginCall(callIndex, halves, in);
        PolicyRun callLevel = runs.callLevel();
        Tensor out = callLevel != null ? callLevel.runCall(callIndex, in, runner) : runner.forward(in);
        if (!out.isOwner()) {                         // a view of a cache entry (a policy served the last node): own it
            Tensor view = out;
            out = session.model().kernels().copy(session.workspace(), view);
            view.close();
        }
        if (halves == GuidanceHalves.COND_ONLY) out = withUnconditional(callIndex, out);
        else if (halves == GuidanceHalves.BOTH) runs.guidedOutput(callIndex, out);
        runs.endCall(callIndex, recorder.lastTrace());
        long nanos = System.nanoTime() - t0;
        recorder.endCall(callIndex, halves, runs, (int) out.dim(0), bytesHeld(), nanos);
        order.end();
        return out;
    }

    /** {@code [uncond; cond]} from a conditional-only call's output {@code cond} (closed here). */
    private Tensor withUnconditional(int callIndex, Tensor cond) {
        try {
            Tensor uncond = runs.unconditional(callIndex, cond, session.model().kernels(), session.workspace());
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

    /** Bytes every policy holds now. */
    public long bytesHeld() {
        return runs.bytesHeld();
    }

    /** The calls so far. */
    public GenerationReport report() {
        return new GenerationReport(policy.spec(), recorder.reports(), budget.peak());
    }

    /** Drops every cache and starts the generation over at call 0. */
    public void reset() {
        runs.close();
        start();
    }

    private void start() {
        budget = new CacheBudget(options);
        runs = PolicyRuns.start(policy, session.model(), structure, info, budget);
        recorder.clear();
        order.restart();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        runs.close();
        if (session.interceptor() == hooks) session.setInterceptor(previous);
    }

    /** The session's interceptor: nodes of this session's calls go through the policies, skips through the repair. */
    private final class Hooks implements NodeInterceptor {
        @Override
        public Tensor intercept(NodeCall call) {
            int current = order.current();
            if (current < 0) return call.proceed();               // a call made outside call(): leave it alone
            return runs.intercept(new ForwardingNodeCall(call) {  // numbered as the generation's call, not the session's
                @Override
                public int callIndex() {
                    return current;
                }

                @Override
                public Tensor proceed() {
                    return base.proceed();
                }

                @Override
                public Tensor proceedWith(Tensor input) {
                    return base.proceedWith(input);
                }
            });
        }

        @Override
        public boolean serves(String path) {
            return order.current() >= 0 && runs.served(path);
        }

        @Override
        public Tensor onSkipPush(SkipEvent event) {
            if (order.current() >= 0) skips.pushed(event.tensor());
            return event.tensor();
        }

        @Override
        public Tensor onSkipPop(SkipEvent event) {
            if (order.current() < 0) return event.tensor();
            return skips.pop(event, order.current(), runs, session.model().kernels(), session.workspace());
        }
    }
}
