package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.GuidanceHalves;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.UNetInputs;

import java.util.List;
import java.util.Set;

/**
 * T-GATE (Zhang, Liu et al. 2024, "Cross-Attention Makes Inference Cumbersome in Text-to-Image Diffusion Models"), as
 * its official SD code does ({@code HaozheLiu-ST/T-GATE}, {@code tgate/tgate_utils.py}: {@code tgate_scheduler} and
 * {@code tgate_processor}; {@code tgate/SD.py}: {@code tgate}). Per call {@code s} (the call index; T-GATE's
 * {@code cur_step} counts scheduler steps, the same for first-order samplers):
 * <ul>
 * <li>semantics-planning stage, {@code s < gate-step - 1}: every cross-attention ({@code attn2}) runs; the
 *     self-attentions ({@code attn1}) run before {@code warm-up}, run and are cached at {@code s == warm-up} and at
 *     {@code s % sp-interval == 0}, and otherwise return the cached output;</li>
 * <li>{@code s == gate-step - 1}: both kinds run and are cached as the mean of the two CFG halves
 *     ({@code keep_shape=False}: {@code (uncond + cond) / 2});</li>
 * <li>fidelity-improving stage, {@code s >= gate-step}: the unconditional branch is dropped (batch B, the guided
 *     prediction is the conditional one: {@code SD.py} skips the CFG combination; here the policy supplies the
 *     conditional prediction as the unconditional one, which the guidance formula maps to the same value), every
 *     cross-attention returns its cached mean, and the self-attentions run and are re-cached when
 *     {@code s % fi-interval == 0}, else return the cache.</li>
 * </ul>
 * As {@code tgate_processor}, a reuse without a cached entry computes instead (and caches nothing). Applies to the
 * transformer blocks' {@code attn1}/{@code attn2} (diffusers' {@code Attention} modules of an SD UNet); a call that
 * is not a guided one (no CFG) caches its outputs whole at the gate step.
 *
 * @param gateStep    T-GATE's {@code gate_step} (>= 1): the number of calls that compute cross-attention
 * @param spInterval  {@code sp_interval} (the SD loader's {@code pre_interval}), default 5
 * @param fiInterval  {@code fi_interval} ({@code post_interval}), default 1
 * @param warmUp      {@code warm_up}, default 2
 */
public record TGate(int gateStep, int spInterval, int fiInterval, int warmUp) implements CachePolicy {
    public static final String NAME = "tgate";

    public TGate {
        if (gateStep < 1) throw new IllegalArgumentException("tgate: gate-step must be >= 1, got " + gateStep);
        if (spInterval < 1) throw new IllegalArgumentException("tgate: sp-interval must be >= 1, got " + spInterval);
        if (fiInterval < 1) throw new IllegalArgumentException("tgate: fi-interval must be >= 1, got " + fiInterval);
        if (warmUp < 0) throw new IllegalArgumentException("tgate: warm-up must be >= 0, got " + warmUp);
    }

    /** {@code tgate:gate-step=10,sp-interval=5,fi-interval=1,warm-up=2}; gate-step is required. */
    public static TGate parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("gate-step", "sp-interval", "fi-interval", "warm-up"), Set.of(), Set.of());
        a.require(a.has("gate-step"), "gate-step", "given (T-GATE's gate_step, e.g. gate-step=10 for 25 steps)");
        return new TGate(a.integer("gate-step", 10), a.integer("sp-interval", 5), a.integer("fi-interval", 1), a.integer("warm-up", 2));
    }

    @Override
    public String spec() {
        return NAME + ":gate-step=" + gateStep + ",sp-interval=" + spInterval + ",fi-interval=" + fiInterval + ",warm-up=" + warmUp;
    }

    /** What an attention of one kind does on one call ({@code tgate_scheduler}'s cache/reuse flags). */
    public enum Action { COMPUTE, CACHE, CACHE_MEAN, REUSE }

    /** The self-attention action on call {@code s}. */
    public Action selfAttention(int s) {
        if (s < gateStep - 1) {
            if (s < warmUp) return Action.COMPUTE;
            if (s == warmUp) return Action.CACHE;
            return s % spInterval == 0 ? Action.CACHE : Action.REUSE;
        }
        if (s == gateStep - 1) return Action.CACHE_MEAN;
        return s % fiInterval == 0 ? Action.CACHE : Action.REUSE;
    }

    /** The cross-attention action on call {@code s}. */
    public Action crossAttention(int s) {
        if (s < gateStep - 1) return Action.COMPUTE;
        return s == gateStep - 1 ? Action.CACHE_MEAN : Action.REUSE;
    }

    /** Whether call {@code s} drops the unconditional branch (runs batch B). */
    public boolean condOnly(int s) {
        return s >= gateStep;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new Run(ctx.newStore());
    }

    private final class Run implements PolicyRun {
        private final FeatureStore store;
        private int call = -1;
        private GuidanceHalves halves = GuidanceHalves.UNGUIDED;
        private int reused;

        Run(FeatureStore store) {
            this.store = store;
        }

        @Override
        public boolean dropsUnconditional(int callIndex, double timestep) {
            return condOnly(callIndex);
        }

        @Override
        public void halves(int callIndex, GuidanceHalves h) {
            halves = h;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            call = callIndex;
            reused = 0;
        }

        private Action action(NodeKind kind) {
            return kind == NodeKind.ATTN1 ? selfAttention(call) : kind == NodeKind.ATTN2 ? crossAttention(call) : null;
        }

        @Override
        public Tensor intercept(NodeCall c, int callIndex) {
            Action a = action(c.kind());
            if (a == null) return c.proceed();
            String path = c.path();
            if (a == Action.REUSE) {
                Tensor cached = store.take(path);
                if (cached != null && cached.dim(0) == c.input().dim(0)) {
                    reused++;
                    return cached;                                   // [B', T, C]
                }
                return c.proceed();                                  // nothing cached: compute, keep nothing
            }
            Tensor out = c.proceed();                                // [B', T, C]
            if (a == Action.CACHE) return store.keep(path, c, out);
            if (a == Action.CACHE_MEAN) {
                if (halves == GuidanceHalves.BOTH) {
                    long b = out.dim(0) / 2;
                    Kernels k = c.kernels();
                    Workspace ws = c.workspace();
                    store.putOwned(path, k.add(ws, out.narrow(0, 0, b), out.narrow(0, b, b), 0.5f, 0.5f)); // [B, T, C]
                } else {
                    return store.keep(path, c, out);
                }
            }
            return out;
        }

        @Override
        public boolean serves(String path) {
            return false;   // attn1/attn2 inputs are the block's own norms, not nodes: nothing upstream to skip
        }

        @Override
        public Tensor unconditional(int callIndex, Tensor cond, Kernels k, Workspace ws) {
            return condOnly(callIndex) ? k.copy(ws, cond) : null;   // SD.py: noise_pred = the conditional prediction
        }

        @Override
        public String label(int callIndex) {
            return reused == 0 ? "" : "tgate reuse " + reused;
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
