package dev.unet4j.caching.policy;

import java.util.TreeSet;

/**
 * DeepCache's non-uniform choice of full steps, {@code sample_from_quad_center}: {@code n+1} points spaced evenly
 * between {@code (-center)^(1/pow)} (a complex number, as Python's {@code int ** float} makes it) and
 * {@code (total-center)^(1/pow)}, raised to {@code pow}, real part truncated to int32, deduplicated and sorted; the
 * first and last are dropped, {@code center} is added and 0 is prepended. While that does not give {@code n} indices,
 * pow is lowered by 0.02.
 */
public final class QuadSchedule {
    private QuadSchedule() {
    }

    /** The chosen indices and the power finally used. */
    public record Result(int[] indices, double pow) {
    }

    public static Result sample(int total, int n, int center, double pow) {
        if (n < 1 || n > total) throw new IllegalArgumentException("cannot choose " + n + " full steps out of " + total);
        if (center < 0 || center > total) throw new IllegalArgumentException("center " + center + " outside [0, " + total + "]");
        double p = pow;
        while (p > 1) {
            // start = (-center)^(1/p) on the principal branch; end is real
            double inv = 1 / p;
            double sr = Math.pow(center, inv) * Math.cos(Math.PI * inv), si = Math.pow(center, inv) * Math.sin(Math.PI * inv);
            if (center == 0) {
                sr = 0;
                si = 0;
            }
            double er = Math.pow(total - center, inv);
            TreeSet<Integer> uniq = new TreeSet<>();
            for (int k = 0; k <= n; k++) {
                // numpy linspace: start + k * step, the last point exactly the end
                double xr, xi;
                if (k == n) {
                    xr = er;
                    xi = 0;
                } else {
                    xr = sr + k * (er - sr) / n;
                    xi = si + k * (0 - si) / n;
                }
                uniq.add(truncInt32(realPow(xr, xi, p)));
            }
            Integer[] sorted = uniq.toArray(new Integer[0]);
            int[] idx = new int[sorted.length - 2 + 1];
            idx[0] = 0;
            for (int i = 1; i < sorted.length - 1; i++) idx[i] = sorted[i] + center;
            if (sorted.length >= 2 && idx.length == n) return new Result(idx, p);
            p -= 0.02;
        }
        throw new IllegalArgumentException("cannot find a suitable pow for " + n + " full steps out of " + total
                + " around center " + center + "; use fewer full steps or a smaller center");
    }

    /** Real part of (xr + i xi)^p, numpy's complex power {@code exp(p log z)}. */
    private static double realPow(double xr, double xi, double p) {
        if (xi == 0 && xr >= 0) return Math.pow(xr, p);
        double r = Math.hypot(xr, xi), th = Math.atan2(xi, xr);
        return Math.pow(r, p) * Math.cos(p * th);
    }

    private static int truncInt32(double v) {
        return (int) v;                                   // C cast: toward zero
    }
}
