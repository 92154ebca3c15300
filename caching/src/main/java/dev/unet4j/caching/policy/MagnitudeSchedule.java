package dev.unet4j.caching.policy;

/**
 * MagCache's skip rule (Ma et al. 2025, "MagCache: Fast Video Generation with Magnitude-Aware Cache",
 * {@code Zehong-Ma/MagCache}): from a calibrated curve of residual magnitude ratios {@code ratio[k] =
 * mean(|r_k| / |r_{k-1}|)}, after the first {@code warmup} calls (its {@code retention_ratio * steps}) each call
 * multiplies {@code accumulated_ratio} by its ratio, adds {@code |1 - accumulated_ratio|} to {@code accumulated_err}
 * and counts a skip; it skips while {@code accumulated_err < threshold} and at most {@code maxRun} ({@code K}) calls in
 * a row skip, else it computes and all three accumulators reset. The schedule depends on the curve only, so a
 * calibrated threshold gives the same skips on every run.
 */
public final class MagnitudeSchedule {
    private MagnitudeSchedule() {
    }

    /** Which calls skip, for curve {@code ratios} (one per call; {@code ratios[0]} unused). */
    public static boolean[] skips(double[] ratios, int warmup, int maxRun, double threshold) {
        boolean[] skip = new boolean[ratios.length];
        double accRatio = 1, accErr = 0;
        int accSteps = 0;
        for (int k = warmup; k < ratios.length; k++) {
            if (k == 0) continue;                                 // call 0 has nothing to reuse
            accRatio *= ratios[k];
            accSteps++;
            accErr += Math.abs(1 - accRatio);
            if (accErr < threshold && accSteps <= maxRun) {
                skip[k] = true;
            } else {
                accRatio = 1;
                accErr = 0;
                accSteps = 0;
            }
        }
        return skip;
    }

    public static int count(boolean[] skips) {
        int n = 0;
        for (boolean b : skips) if (b) n++;
        return n;
    }

    /** A threshold and run cap. */
    public record Choice(double threshold, int maxRun, int skips) {
    }

    /**
     * The least {@code K} (from 1) and, for it, the least threshold whose schedule skips at least {@code wanted}
     * calls: the smallest errors that meet the request. Fails when no {@code K} can (too few calls after warm-up).
     */
    public static Choice forSkips(double[] ratios, int warmup, int wanted) {
        int n = ratios.length;
        for (int maxRun = 1; maxRun < n; maxRun++) {
            if (count(skips(ratios, warmup, maxRun, Double.MAX_VALUE)) < wanted) continue;
            double lo = 0, hi = 1;
            while (count(skips(ratios, warmup, maxRun, hi)) < wanted) hi *= 2;
            for (int i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
                double mid = (lo + hi) / 2;
                if (count(skips(ratios, warmup, maxRun, mid)) >= wanted) hi = mid;
                else lo = mid;
            }
            return new Choice(hi, maxRun, count(skips(ratios, warmup, maxRun, hi)));
        }
        throw new IllegalArgumentException("cannot skip " + wanted + " of " + n + " calls with " + warmup
                + " warm-up calls (at most " + Math.max(0, n - Math.max(1, warmup)) + " follow them); ask for less speedup or a lower retention");
    }
}
