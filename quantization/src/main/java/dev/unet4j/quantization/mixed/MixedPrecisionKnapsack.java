package dev.unet4j.quantization.mixed;

import dev.unet4j.quantization.WeightPrecision;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chooses one precision per layer minimising the summed sensitivity under a memory budget: a multiple-choice
 * knapsack solved exactly by dynamic programming over the budget in units of {@code granularity} bytes.
 *
 * <p>Each option's cost is rounded <em>up</em> to whole units, so a returned assignment never exceeds the budget;
 * the solution is optimal for the rounded costs, and for the true costs when {@code granularity} is 1 (or divides
 * every option's size). The table holds {@code layers x (budget / granularity + 1)} one-byte choices, so
 * {@link #defaultGranularity} keeps the budget at about 2^16 units: for a 1 GB budget the units are 16 KB, a
 * rounding of at most {@code layers * 16 KB} which is small against the budget.
 */
public final class MixedPrecisionKnapsack {
    public static final long TARGET_UNITS = 1 << 16;

    private MixedPrecisionKnapsack() {
    }

    /** The chosen precisions and their totals (true bytes, not rounded). */
    public record Assignment(Map<String, Integer> bits, long bytes, double sensitivity) {
        public Assignment {
            bits = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bits));
        }

        /** As a {@link WeightPrecision} with this per-layer map (layers not listed run at {@code defaultBits}). */
        public WeightPrecision toPrecision(int defaultBits) {
            return new WeightPrecision(defaultBits, bits);
        }
    }

    /** {@code max(1, ceil(budget / 2^16))}. */
    public static long defaultGranularity(long budgetBytes) {
        return Math.max(1, (budgetBytes + TARGET_UNITS - 1) / TARGET_UNITS);
    }

    public static Assignment solve(List<LayerSensitivity> layers, long budgetBytes) {
        return solve(layers, budgetBytes, defaultGranularity(budgetBytes));
    }

    /**
     * @throws IllegalArgumentException if even the smallest option of every layer does not fit, or the table
     *                                  would be too large (choose a coarser granularity)
     */
    public static Assignment solve(List<LayerSensitivity> layers, long budgetBytes, long granularity) {
        if (budgetBytes < 0 || granularity <= 0) throw new IllegalArgumentException("budget " + budgetBytes + " / granularity " + granularity);
        long unitsL = budgetBytes / granularity;
        if ((unitsL + 1) * Math.max(1, layers.size()) > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("knapsack table of " + layers.size() + " layers x " + (unitsL + 1) + " units is too large; use a coarser granularity");
        }
        int units = (int) unitsL;
        final double inf = Double.POSITIVE_INFINITY;
        double[] best = new double[units + 1];   // best[c]: least sensitivity of the layers so far within c units
        double[] next = new double[units + 1];
        byte[][] choice = new byte[layers.size()][units + 1];
        for (int l = 0; l < layers.size(); l++) {
            List<LayerOption> opts = layers.get(l).options();
            if (opts.size() > 127) throw new IllegalArgumentException("layer " + layers.get(l).layer() + " has more than 127 options");
            long[] cost = new long[opts.size()];
            for (int o = 0; o < cost.length; o++) cost[o] = (opts.get(o).bytes() + granularity - 1) / granularity;
            for (int c = 0; c <= units; c++) {
                double b = inf;
                int bo = -1;
                for (int o = 0; o < cost.length; o++) {
                    if (cost[o] > c) continue;
                    double v = best[c - (int) cost[o]];
                    if (v == inf) continue;
                    v += opts.get(o).sensitivity();
                    if (v < b) {
                        b = v;
                        bo = o;
                    }
                }
                next[c] = b;
                choice[l][c] = (byte) bo;
            }
            double[] t = best;
            best = next;
            next = t;
        }
        if (best[units] == inf) {
            long min = 0;
            for (LayerSensitivity ls : layers) min += ls.options().stream().mapToLong(LayerOption::bytes).min().orElseThrow();
            throw new IllegalArgumentException("no assignment fits " + budgetBytes + " bytes: the smallest options of all layers need "
                    + min + " bytes (before rounding to " + granularity + "-byte units)");
        }
        // Walk back from the full budget (best[] is monotone in c, so the full budget holds the optimum).
        Map<String, Integer> bits = new LinkedHashMap<>();
        LayerOption[] picked = new LayerOption[layers.size()];
        int c = units;
        for (int l = layers.size() - 1; l >= 0; l--) {
            LayerOption o = layers.get(l).options().get(choice[l][c]);
            picked[l] = o;
            c -= (int) ((o.bytes() + granularity - 1) / granularity);
        }
        long bytes = 0;
        double sens = 0;
        for (int l = 0; l < layers.size(); l++) {
            bits.put(layers.get(l).layer(), picked[l].bits());
            bytes += picked[l].bytes();
            sens += picked[l].sensitivity();
        }
        return new Assignment(bits, bytes, sens);
    }
}
