package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.PathGlob;
import dev.unet4j.unet.UNetInputs;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Feature inheritance (A-SDM style): on chosen calls, the selected nodes (glob patterns over node paths: the mid
 * block, layers, attention/feed-forward units; {@link PathGlob}: {@code *} one path segment, {@code **} any run of them; down/up blocks themselves
 * are refused since they carry skip connections) return the output they had on the last call that computed them; on the other calls they run
 * and their outputs are kept. Calls are chosen by {@code every=k} (reuse unless {@code call % k == 0}), an explicit
 * {@code calls=} list, or a timestep range {@code from..to} (inclusive; the call's first timestep value). A selected
 * node that has nothing kept yet (call 0) runs.
 */
public record FeatureInheritance(PathGlob nodes, int every, int[] calls, double from, double to) implements CachePolicy {
    public static final String NAME = "inherit";

    public FeatureInheritance {
        int ways = (every > 0 ? 1 : 0) + (calls != null ? 1 : 0) + (Double.isNaN(from) ? 0 : 1);
        if (ways != 1) throw new IllegalArgumentException("inherit: give exactly one of every=, calls= or from=/to=");
        if (calls != null) calls = calls.clone();
    }

    public static FeatureInheritance parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("nodes", "every", "calls", "from", "to"), Set.of("calls"), Set.of());
        a.require(a.has("nodes"), "nodes", "given (glob patterns separated by |)");
        a.require(a.has("from") == a.has("to"), a.has("from") ? "to" : "from", "given together with the other end of the range");
        int every = a.integer("every", 0);
        if (a.has("every")) a.require(every >= 1, "every", ">= 1");
        return new FeatureInheritance(PathGlob.of(a.words("nodes")), every, a.ints("calls"),
                a.has("from") ? a.number("from", 0) : Double.NaN, a.has("to") ? a.number("to", 0) : Double.NaN);
    }

    @Override
    public String spec() {
        String s = NAME + ":nodes=" + nodes;
        if (every > 0) return s + ",every=" + every;
        if (calls != null) return s + ",calls=" + String.join(",", Arrays.stream(calls).mapToObj(String::valueOf).toList());
        return s + ",from=" + from + ",to=" + to;
    }

    /** Whether call {@code k} with first timestep value {@code t} reuses. */
    public boolean reuses(int k, double t) {
        if (every > 0) return k % every != 0;
        if (calls != null) {
            for (int c : calls) if (c == k) return true;
            return false;
        }
        return t >= Math.min(from, to) && t <= Math.max(from, to);
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        // a down/up block replaced whole would skip its skip-stack pushes/pops and misalign every later block
        for (String p : ctx.structure().paths()) {
            if (nodes.matches(p) && p.matches("(down|up)_blocks\\.\\d+")) {
                throw new IllegalArgumentException("inherit: pattern '" + nodes + "' selects " + p
                        + ", a block that pushes or pops skip connections; select its layers instead (" + p + ".**)");
            }
        }
        return new Run(ctx.newStore());
    }

    private final class Run implements PolicyRun {
        private final FeatureStore store;
        private boolean reuseNow;
        private int reusedNodes;

        Run(FeatureStore store) {
            this.store = store;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            reuseNow = reuses(callIndex, in.timestep().values()[0]);
            reusedNodes = 0;
        }

        @Override
        public boolean serves(String path) {
            return reuseNow && nodes.matches(path) && store.contains(path);
        }

        @Override
        public Tensor intercept(NodeCall call, int callIndex) {
            if (!nodes.matches(call.path())) return call.proceed();
            if (reuseNow && store.contains(call.path())) {
                reusedNodes++;
                return store.take(call.path());
            }
            return store.keep(call.path(), call, call.proceed());
        }

        @Override
        public String label(int callIndex) {
            return reusedNodes > 0 ? "inherit " + reusedNodes : "";
        }

        @Override
        public long bytesHeld() {
            return store.bytes();
        }

        @Override
        public void close() {
            store.close();
        }
    }
}
