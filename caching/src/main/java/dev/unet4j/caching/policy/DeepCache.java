package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CondHalf;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.UNetInputs;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * DeepCache (Ma et al. 2023), call for call as {@code DeepCacheSDHelper}: full calls at the chosen call indices (every
 * {@code interval}-th from 0, or {@code sample_from_quad_center}); on the other calls only the shallow branch runs:
 * the time embedding, conv_in, the down layers before branch {@code b}, the up layers of that depth from the branch
 * up, conv_norm_out and conv_out. Branch {@code b} is down block {@code b / L}, layer {@code b % L} with {@code L} the
 * up block's layer count (3 in Stable Diffusion, as the helper's hard-coded {@code % 3}). Everything deeper returns
 * its output from the last full call: the down layers from {@code (b/L, b%L)} on, deeper down blocks, the mid block,
 * deeper up blocks, and in the branch's up block the layers whose reversed index exceeds {@code b % L} (for b = 0 the
 * last up block's last layer runs, fed the cached output of the layer before it concatenated with conv_in's fresh
 * skip).
 */
public record DeepCache(int interval, int branch, Schedule schedule, double pow, int center) implements CachePolicy {
    public static final String NAME = "deepcache";

    /** How full calls are chosen. */
    public enum Schedule { UNIFORM, QUAD }

    public DeepCache {
        if (interval < 1) throw new IllegalArgumentException("deepcache: interval must be >= 1, got " + interval);
        if (branch < 0) throw new IllegalArgumentException("deepcache: branch must be >= 0, got " + branch);
        if (schedule == null) throw new IllegalArgumentException("deepcache: schedule is required");
        if (!(pow > 1)) throw new IllegalArgumentException("deepcache: pow must be > 1, got " + pow);
        if (center < 0) throw new IllegalArgumentException("deepcache: center must be >= 0, got " + center);
    }

    public static DeepCache uniform(int interval, int branch) {
        return new DeepCache(interval, branch, Schedule.UNIFORM, 1.4, 15);
    }

    public static DeepCache parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("interval", "branch", "schedule", "pow", "center"), Set.of(), Set.of());
        String s = a.string("schedule", "uniform");
        a.require(s.equals("uniform") || s.equals("quad"), "schedule", "uniform or quad");
        return new DeepCache(a.integer("interval", 3), a.integer("branch", 0),
                s.equals("quad") ? Schedule.QUAD : Schedule.UNIFORM, a.number("pow", 1.4), a.integer("center", 15));
    }

    @Override
    public String spec() {
        String base = NAME + ":interval=" + interval + ",branch=" + branch;
        return schedule == Schedule.UNIFORM ? base : base + ",schedule=quad,pow=" + pow + ",center=" + center;
    }

    /** Which calls of {@code total} run in full. */
    public boolean[] fullCalls(int total) {
        boolean[] full = new boolean[total];
        if (schedule == Schedule.UNIFORM) {
            for (int k = 0; k < total; k += interval) full[k] = true;
        } else {
            int n = (total + interval - 1) / interval;
            for (int k : QuadSchedule.sample(total, n, Math.min(center, total), pow).indices()) full[k] = true;
        }
        return full;
    }

    /**
     * The nodes whose outputs a cheap call at {@code branch} takes from the last full call (disjoint subtrees, in
     * running order). Blocks that push or pop skips are never replaced whole: their layers are, so every block still
     * pushes and pops its skips and the skip stack (and the upsample sizes read from it) stays exactly as in a full
     * call; the mid block, which touches no skip, is replaced whole.
     */
    public static Set<String> reusedNodes(UNetStructure s, int branch) {
        int perBlock = s.upLayers(s.upBlocks() - 1);
        int block = branch / perBlock, layer = branch % perBlock;
        if (block >= s.downBlocks()) {
            throw new IllegalArgumentException("deepcache: branch " + branch + " is down block " + block + ", the model has "
                    + s.downBlocks() + " (branches 0.." + (s.downBlocks() * perBlock - 1) + ")");
        }
        Set<String> out = new LinkedHashSet<>();
        for (int d = block; d < s.downBlocks(); d++) {
            for (int j = d > block ? 0 : layer; j < s.downLayers(d); j++) out.addAll(s.downLayerNodes(d, j));
            if (s.downsamples(d)) out.add("down_blocks." + d + ".downsamplers.0");
        }
        if (s.hasMid()) out.add("mid_block");
        for (int u = 0; u < s.upBlocks(); u++) {
            int id = s.upBlocks() - 1 - u;
            if (id < block) continue;
            int n = s.upLayers(u);
            for (int j = 0; j < n; j++) if (id > block || n - 1 - j > layer) out.addAll(s.upLayerNodes(u, j));
            if (id > block && s.upsamples(u)) out.add("up_blocks." + u + ".upsamplers.0");
        }
        return out;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        boolean[] full = fullCalls(ctx.info().totalCalls());
        int[] plan = new int[full.length];
        for (int k = 0; k < plan.length; k++) plan[k] = full[k] ? -1 : 0;
        return new Run(plan, List.of(reusedNodes(ctx.structure(), branch)), List.of("reuse b=" + branch), ctx.newStore());
    }

    /**
     * The per-generation state, also used by {@link BalancedSkipping}: call k runs in full when {@code plan[k] < 0},
     * else cheaply with reuse set {@code sets.get(plan[k])}; full calls keep the outputs of every set's nodes.
     */
    static class Run implements PolicyRun {
        int[] plan;
        private final List<Set<String>> sets;
        private final Set<String> union = new LinkedHashSet<>();
        private final List<String> labels;
        private final FeatureStore store;
        private Set<String> reuseNow;
        private boolean fullNow, refused;
        private long keptBatch = -1, batchNow;

        Run(int[] plan, List<Set<String>> sets, List<String> labels, FeatureStore store) {
            this.plan = plan;
            this.sets = List.copyOf(sets);
            this.labels = List.copyOf(labels);
            for (Set<String> s : sets) union.addAll(s);
            this.store = store;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            int p = plan[callIndex];
            batchNow = in.sample() == null ? keptBatch : in.sample().dim(0);
            reuseNow = p < 0 ? null : sets.get(p);
            refused = p >= 0 && (store.refusedSome() || !store.containsAll(reuseNow) || !CondHalf.serves(keptBatch, batchNow));
            fullNow = p < 0 || refused;
            if (fullNow) {
                store.clear();
                keptBatch = batchNow;
            }
        }

        @Override
        public Tensor intercept(NodeCall call, int callIndex) {
            String path = call.path();
            if (fullNow) {
                Tensor out = call.proceed();
                return union.contains(path) ? store.keep(path, call, out) : out;
            }
            if (!reuseNow.contains(path)) return call.proceed();
            return CondHalf.view(store.get(path), batchNow);       // a 2B call's features serve a cond-only call
        }

        @Override
        public boolean serves(String path) {
            return !fullNow && reuseNow != null && reuseNow.contains(path);
        }

        @Override
        public boolean keeps(String path) {
            return fullNow && union.contains(path);
        }

        @Override
        public String label(int callIndex) {
            return refused ? "full (cache refused)" : fullNow ? "" : labels.get(plan[callIndex]);
        }

        @Override
        public long bytesHeld() {
            return store.bytes();
        }

        @Override
        public void close() {
            store.close();
        }

        @Override
        public String toString() {
            return "DeepCache.Run" + Arrays.toString(plan);
        }
    }
}
