package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.StepStart;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.Interceptors;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.SkipEvent;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * One generation's started policies, one {@link PolicyRun} per part of a composed policy ({@code a+b}), asked
 * together in composition order: a node is served if any run serves it, the first run that answers supplies a
 * missing tensor, and the runs' node callbacks are chained with {@link Interceptors#chain} (the first part outermost).
 * Closed as one.
 */
final class PolicyRuns implements AutoCloseable {
    private List<PolicyRun> runs = List.of();   // read by the runs' RunContext predicates, so set once all started
    private PolicyRun callLevel;
    private NodeInterceptor chain = new NodeInterceptor() { };

    private PolicyRuns() {
    }

    /** Starts every part of {@code policy}; on a failure the parts already started are closed. */
    static PolicyRuns start(CachePolicy policy, UNetModel model, UNetStructure structure, GenerationInfo info,
                            CacheBudget budget) {
        PolicyRuns all = new PolicyRuns();
        RunContext ctx = new RunContext(model, structure, info, budget, all::served, all::kept);
        List<PolicyRun> list = new ArrayList<>();
        try {
            for (CachePolicy p : CachePolicies.parts(policy)) {
                PolicyRun r = p.start(ctx);
                list.add(r);
                if (p.callLevel()) all.callLevel = r;
            }
        } catch (RuntimeException e) {
            for (PolicyRun r : list) r.close();
            throw e;
        }
        all.runs = List.copyOf(list);
        all.chain = Interceptors.chain(list.stream().map(PolicyRuns::interceptor).toArray(NodeInterceptor[]::new));
        return all;
    }

    /** {@code run}'s node callbacks as an interceptor; the call index is the one the node call reports. */
    private static NodeInterceptor interceptor(PolicyRun run) {
        return new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                return run.intercept(call, call.callIndex());
            }

            @Override
            public boolean serves(String path) {
                return run.serves(path);
            }
        };
    }

    /** The run of the call-level part (it drives the whole call through a {@link CallRunner}), or null. */
    PolicyRun callLevel() {
        return callLevel;
    }

    /** A node of the current call through every run's {@link PolicyRun#intercept}, the first part outermost. */
    Tensor intercept(NodeCall call) {
        return chain.intercept(call);
    }

    /** Whether some run serves node {@code path} from its cache on the current call. */
    boolean served(String path) {
        for (PolicyRun r : runs) if (r.serves(path)) return true;
        return false;
    }

    /** Whether some run keeps node {@code path}'s output of the current call for later calls. */
    boolean kept(String path) {
        for (PolicyRun r : runs) if (r.keeps(path)) return true;
        return false;
    }

    /** Whether some run drops guided call {@code callIndex}'s unconditional half; every run learns the call's timestep. */
    boolean dropsUnconditional(int callIndex, double timestep) {
        boolean drop = false;
        for (PolicyRun r : runs) drop |= r.dropsUnconditional(callIndex, timestep);
        return drop;
    }

    /** Call {@code callIndex} is about to run {@code halves} with {@code in}. */
    void beginCall(int callIndex, GuidanceHalves halves, UNetInputs in) {
        for (PolicyRun r : runs) r.halves(callIndex, halves);
        for (PolicyRun r : runs) r.beginCall(callIndex, in);
    }

    void guidedOutput(int callIndex, Tensor out) {
        for (PolicyRun r : runs) r.guidedOutput(callIndex, out);
    }

    void endCall(int callIndex, CallTrace trace) {
        for (PolicyRun r : runs) r.endCall(callIndex, trace);
    }

    /** The unconditional prediction the run that dropped it supplies, or null. */
    Tensor unconditional(int callIndex, Tensor cond, Kernels k, Workspace ws) {
        for (PolicyRun r : runs) {
            Tensor u = r.unconditional(callIndex, cond, k, ws);
            if (u != null) return u;
        }
        return null;
    }

    /** A kept copy of skip {@code skipIndex} from the first run that has one, or null. */
    Tensor cachedSkip(int skipIndex, int callIndex, Kernels k, Workspace ws) {
        for (PolicyRun r : runs) {
            Tensor t = r.cachedSkip(skipIndex, callIndex, k, ws);
            if (t != null) return t;
        }
        return null;
    }

    /**
     * {@code skip} through every run's {@link PolicyRun#transformSkip}; a replaced tensor ({@code skip} included) is
     * closed, but never the popped tensor itself (the graph owns it).
     */
    Tensor transformSkip(SkipEvent pop, int skipIndex, Tensor skip, Kernels k, Workspace ws) {
        Tensor t = skip;
        for (PolicyRun r : runs) {
            Tensor t2 = r.transformSkip(pop, skipIndex, t, k, ws);
            if (t2 != t && t != pop.tensor()) t.close();
            t = t2;
        }
        return t;
    }

    /** Every run's label of call {@code callIndex}, in order. */
    void addLabels(int callIndex, StringJoiner labels) {
        for (PolicyRun r : runs) {
            String l = r.label(callIndex);
            if (!l.isEmpty()) labels.add(l);
        }
    }

    boolean editsLatents() {
        return runs.stream().anyMatch(r -> r.latentHook() != null);
    }

    /** The runs' latent hooks on {@code x}, in order. */
    Latents beforeStep(StepStart step, Latents x) {
        Latents y = x;
        for (PolicyRun r : runs) {
            LatentHook h = r.latentHook();
            if (h != null) y = h.beforeStep(step, y);
        }
        return y;
    }

    /** Bytes every run holds now. */
    long bytesHeld() {
        long b = 0;
        for (PolicyRun r : runs) b += r.bytesHeld();
        return b;
    }

    /** Closes every run (again: nothing). */
    @Override
    public void close() {
        for (PolicyRun r : runs) r.close();
        runs = List.of();
        chain = new NodeInterceptor() { };
        callLevel = null;
    }
}
