package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Set;

/**
 * Adaptive whole-body caching (TeaCache-like). Every call runs conv_in; its output is the probe. Its relative L1
 * change {@code mean|p - p_full| / mean|p_full|} against the probe of the last full call is accumulated over the calls
 * since that full call; while the sum stays below {@code threshold} the call reuses: everything between conv_in and
 * conv_norm_out is skipped and conv_norm_out receives {@code probe + residual}, the residual being
 * {@code (conv_norm_out input) - (conv_in output)} of the last full call. The first {@code warmup} and last
 * {@code cooldown} calls always run in full, and at most {@code max-run} calls in a row reuse.
 */
public record AdaptiveCache(double threshold, int warmup, int cooldown, int maxRun) implements CachePolicy {
    public static final String NAME = "adaptive";

    public AdaptiveCache {
        if (!(threshold >= 0)) throw new IllegalArgumentException("adaptive: threshold must be >= 0, got " + threshold);
        if (warmup < 1) throw new IllegalArgumentException("adaptive: warmup must be >= 1 (call 0 has nothing to reuse), got " + warmup);
        if (cooldown < 0 || maxRun < 1) throw new IllegalArgumentException("adaptive: cooldown must be >= 0 and max-run >= 1");
    }

    public static AdaptiveCache parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("threshold", "warmup", "cooldown", "max-run"), Set.of(), Set.of());
        return new AdaptiveCache(a.number("threshold", 0.1), a.integer("warmup", 1), a.integer("cooldown", 1), a.integer("max-run", 3));
    }

    @Override
    public String spec() {
        return NAME + ":threshold=" + threshold + ",warmup=" + warmup + ",cooldown=" + cooldown + ",max-run=" + maxRun;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new Run(ctx.structure(), ctx.info().totalCalls(), ctx.newStore());
    }

    private final class Run extends BodyReuse {
        private int run;
        private double accumulated;

        Run(UNetStructure s, int total, FeatureStore store) {
            super(s, total, store);
        }

        @Override
        protected String decide(int k, Tensor p, boolean possible) {
            boolean forced = k < warmup || k >= total - cooldown || run >= maxRun || !possible;
            boolean reuse = false;
            if (!forced) {
                try (Tensor kept = keptProbe(p)) {
                    accumulated += relativeL1(p, kept);
                }
                reuse = accumulated < threshold;
            }
            if (reuse) {
                run++;
                return String.format("reuse (acc %.3f)", accumulated);
            }
            run = 0;
            accumulated = 0;
            return null;
        }
    }

    /** {@code sum|a - ref| / sum|ref|} over all elements (0 when both are zero). */
    static double relativeL1(Tensor a, Tensor ref) {
        if (!java.util.Arrays.equals(a.shape(), ref.shape())) {
            throw new IllegalArgumentException("adaptive probe " + a + " vs kept " + ref + ": shapes differ");
        }
        // same geometry and dense (the probe and its kept copy): compare the stored floats where they lie, in memory order
        boolean raw = java.util.Arrays.equals(a.strides(), ref.strides()) && a.span() == a.numel();
        FloatBuffer x = raw ? a.rawBuffer() : FloatBuffer.wrap(a.toFloatArray());
        FloatBuffer r = raw ? ref.rawBuffer() : FloatBuffer.wrap(ref.toFloatArray());
        // blocks of 4096 copied in bulk, four float lanes each, summed into doubles per block: independent adds (one
        // double accumulator over the buffer ran 0.4-0.9 ms for a 20x32x16x16 probe, a third of a cheap call)
        float[] xb = new float[4096], rb = new float[4096];
        double num = 0, den = 0;
        while (x.hasRemaining()) {
            int len = Math.min(xb.length, x.remaining()), i = 0;
            x.get(xb, 0, len);
            r.get(rb, 0, len);
            float n0 = 0, n1 = 0, n2 = 0, n3 = 0, d0 = 0, d1 = 0, d2 = 0, d3 = 0;
            for (; i + 4 <= len; i += 4) {
                n0 += Math.abs(xb[i] - rb[i]);
                n1 += Math.abs(xb[i + 1] - rb[i + 1]);
                n2 += Math.abs(xb[i + 2] - rb[i + 2]);
                n3 += Math.abs(xb[i + 3] - rb[i + 3]);
                d0 += Math.abs(rb[i]);
                d1 += Math.abs(rb[i + 1]);
                d2 += Math.abs(rb[i + 2]);
                d3 += Math.abs(rb[i + 3]);
            }
            for (; i < len; i++) {
                n0 += Math.abs(xb[i] - rb[i]);
                d0 += Math.abs(rb[i]);
            }
            num += (double) n0 + n1 + n2 + n3;
            den += (double) d0 + d1 + d2 + d3;
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : num / den;
    }
}
