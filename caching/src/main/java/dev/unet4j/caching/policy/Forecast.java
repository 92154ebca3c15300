package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CondHalf;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.UNetInputs;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Feature forecasting (TaylorSeer, Liu et al. 2025, "From Reusing to Forecasting: Accelerating Diffusion Models with
 * TaylorSeers"; {@code Shenyi-Z/TaylorSeer}, {@code taylor_utils/__init__.py}: {@code derivative_approximation} and
 * {@code taylor_formula}) on top of a reuse cache: compose it before one, {@code forecast:order=2+deepcache:interval=3}
 * (the first part is outermost). Where the cache keeps a node's output on a full call ({@link PolicyRun#keeps}),
 * the node's Taylor factors are updated as {@code derivative_approximation} does: {@code f0 = F},
 * {@code f(i+1) = (f(i) - f(i)_old) / d} for {@code i < order} while the old factor exists, {@code d} the distance in
 * calls to the node's previous full call. Where the cache serves the node, its output becomes
 * {@code taylor_formula}: {@code sum_i f(i) x^i / i!} with {@code x} the calls since the last full call, instead of
 * the unchanged {@code f0}. Order 0 is plain reuse. TaylorSeer's {@code first_enhance} warm-up is the cache's own
 * schedule here (its first call is full). Works with the caches that serve a kept node output unchanged
 * ({@code deepcache:}, {@code balanced:}); {@code adaptive:} serves a probe plus a residual and keeps no node output.
 *
 * @param order the Taylor order (0-3), default 2
 */
public record Forecast(int order) implements CachePolicy {
    public static final String NAME = "forecast";

    public Forecast {
        if (order < 0 || order > 3) throw new IllegalArgumentException("forecast: order must be 0..3, got " + order);
    }

    public static Forecast parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("order"), Set.of(), Set.of());
        return new Forecast(a.integer("order", 2));
    }

    @Override
    public String spec() {
        return NAME + ":order=" + order;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new Run(ctx, ctx.newStore());
    }

    private final class Run implements PolicyRun {
        private final RunContext ctx;
        private final FeatureStore store;                      // "path#i": factor i of node path
        private final Map<String, Integer> factors = new HashMap<>();
        private final Map<String, Integer> lastFull = new HashMap<>();
        private int call;
        private int forecast;

        Run(RunContext ctx, FeatureStore store) {
            this.ctx = ctx;
            this.store = store;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            call = callIndex;
            forecast = 0;
        }

        @Override
        public Tensor intercept(NodeCall c, int callIndex) {
            String path = c.path();
            boolean keep = ctx.kept().test(path), served = !keep && ctx.served().test(path);
            if (keep && !sameBatch(path, c.input().dim(0))) dropHistory(path);   // a batch change restarts the history
            Tensor out = c.proceed();
            if (keep) update(path, out, c.kernels(), c.workspace());
            else if (served && factors.getOrDefault(path, 0) > 1) {
                forecast++;
                return predict(path, out, c.kernels(), c.workspace());
            }
            return out;
        }

        /** derivative_approximation with {@code feature} = out; a budget refusal drops the node's history. */
        private void update(String path, Tensor out, Kernels k, Workspace ws) {
            Integer prev = lastFull.put(path, call);
            int have = prev == null ? 0 : factors.getOrDefault(path, 0);
            float inv = prev == null ? 0 : 1f / (call - prev);
            Tensor f = k.copy(ws, out);                        // f0 = F
            int n = 0;
            while (true) {
                Tensor next = n < order && n < have
                        ? k.add(ws, f, store.get(path + "#" + n), inv, -inv)   // f(n+1) = (f(n) - f(n)_old) / d
                        : null;
                if (!store.putOwned(path + "#" + n, f)) {      // closes f
                    if (next != null) next.close();
                    dropHistory(path);
                    return;
                }
                n++;
                if (next == null) break;
                f = next;
            }
            for (int i = n; i <= order; i++) store.remove(path + "#" + i);
            factors.put(path, n);
        }

        private boolean sameBatch(String path, long batch) {
            Tensor f0 = store.get(path + "#0");
            return f0 == null || f0.dim(0) == batch;
        }

        private void dropHistory(String path) {
            for (int i = 0; i <= order; i++) store.remove(path + "#" + i);
            factors.remove(path);
            lastFull.remove(path);
        }

        /** taylor_formula: {@code sum_i f(i) x^i / i!}, {@code served} (the cache's f0) as the first term. */
        private Tensor predict(String path, Tensor served, Kernels k, Workspace ws) {
            int x = call - lastFull.get(path);
            Tensor acc = served;
            double coef = 1;
            for (int i = 1; i < factors.get(path); i++) {
                coef *= (double) x / i;                        // x^i / i!
                Tensor next = k.add(ws, acc, CondHalf.view(store.get(path + "#" + i), served.dim(0)), 1f, (float) coef);
                if (acc != served) acc.close();
                acc = next;
            }
            return acc;
        }

        @Override
        public String label(int callIndex) {
            return forecast == 0 ? "" : "forecast " + forecast;
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
