package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.unet.CallTrace;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Skipping balanced to a target speedup: call 0 runs in full and its {@link CallTrace} gives the MACs of every node;
 * from them each DeepCache branch's cheap-call cost is known. The plan takes the cheapest branch for the cheap calls,
 * as many full calls as the target allows, spread evenly, and spends the remaining budget upgrading evenly spread
 * cheap calls to the deepest branch that fits, so that the MAC-predicted speedup meets the target as closely as the
 * discrete choices allow (never below it while one full call suffices).
 */
public record BalancedSkipping(double speedup) implements CachePolicy {
    public static final String NAME = "balanced";

    public BalancedSkipping {
        if (!(speedup >= 1)) throw new IllegalArgumentException("balanced: speedup must be >= 1, got " + speedup);
    }

    public static BalancedSkipping parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("speedup"), Set.of(), Set.of());
        return new BalancedSkipping(a.number("speedup", 2));
    }

    @Override
    public String spec() {
        return NAME + ":speedup=" + speedup;
    }

    /** A plan: per call -1 (full) or a branch, and the speedup its MACs predict. */
    public record Plan(int[] branchPerCall, double predictedSpeedup) {
    }

    /**
     * The plan for {@code n} calls with cheap-call cost fractions {@code frac[b]} (branch b's MACs over a full call's).
     */
    public static Plan plan(int n, double[] frac, double target) {
        int cheapest = 0;
        for (int b = 1; b < frac.length; b++) if (frac[b] < frac[cheapest]) cheapest = b;
        double f0 = frac[cheapest];
        double budget = n / target;                                   // in full-call units
        int fullCount = (int) Math.floor((budget - n * f0) / (1 - f0) + 1e-9);
        fullCount = Math.max(1, Math.min(n, fullCount));
        int[] plan = new int[n];
        Arrays.fill(plan, cheapest);
        for (int i = 0; i < fullCount; i++) plan[(int) Math.floor((double) i * n / fullCount)] = -1;
        double used = fullCount + (n - fullCount) * f0;
        double slack = budget - used;
        int upgrade = -1;
        for (int b = 0; b < frac.length; b++) {
            double extra = frac[b] - f0;
            if (extra > 0 && extra <= slack + 1e-12 && (upgrade < 0 || frac[b] > frac[upgrade])) upgrade = b;
        }
        if (upgrade >= 0) {
            List<Integer> cheap = new ArrayList<>();
            for (int k = 0; k < n; k++) if (plan[k] >= 0) cheap.add(k);
            int m = (int) Math.min(cheap.size(), Math.floor(slack / (frac[upgrade] - f0) + 1e-9));
            for (int i = 0; i < m; i++) plan[cheap.get((int) Math.floor((double) i * cheap.size() / m))] = upgrade;
            used += m * (frac[upgrade] - f0);
        }
        return new Plan(plan, n / used);
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        UNetStructure s = ctx.structure();
        int branches = s.downBlocks() * s.upLayers(s.upBlocks() - 1);
        List<Set<String>> sets = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        for (int b = 0; b < branches; b++) {
            sets.add(DeepCache.reusedNodes(s, b));
            labels.add("reuse b=" + b);
        }
        int[] allFull = new int[ctx.info().totalCalls()];
        Arrays.fill(allFull, -1);
        return new DeepCache.Run(allFull, sets, labels, ctx.newStore()) {
            private Plan chosen;

            @Override
            public void endCall(int callIndex, CallTrace trace) {
                if (callIndex != 0 || trace == null) return;
                Map<String, Long> macs = new HashMap<>();
                for (CallTrace.NodeRecord r : trace.nodes()) macs.put(r.path(), r.macs());
                double full = trace.macsDone();
                double[] frac = new double[sets.size()];
                for (int b = 0; b < frac.length; b++) {
                    long saved = 0;
                    for (String p : sets.get(b)) saved += macs.getOrDefault(p, 0L);
                    frac[b] = (full - saved) / full;
                }
                chosen = plan(allFull.length, frac, speedup);
                plan = chosen.branchPerCall();
            }

            @Override
            public String label(int callIndex) {
                String l = super.label(callIndex);
                if (callIndex == 0 && chosen != null) {
                    return String.format("plan: predicted %.2fx", chosen.predictedSpeedup());
                }
                return l;
            }
        };
    }
}
