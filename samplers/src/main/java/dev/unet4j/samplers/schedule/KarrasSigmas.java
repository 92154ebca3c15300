package dev.unet4j.samplers.schedule;

/** The Karras et al. (2022) sigma schedule, eq. (5): sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho. */
public final class KarrasSigmas {
    private KarrasSigmas() {
    }

    /** In double, as k-diffusion / diffusers' {@code _convert_to_karras} and EDM's generate.py compute it. */
    public static double[] of(double sigmaMin, double sigmaMax, double rho, int n) {
        if (n < 1) throw new IllegalArgumentException("need at least one sigma, got " + n);
        if (!(sigmaMin > 0) || !(sigmaMax >= sigmaMin)) {
            throw new IllegalArgumentException("karras sigmas need 0 < sigma_min <= sigma_max, got " + sigmaMin + ", " + sigmaMax);
        }
        double minInv = Math.pow(sigmaMin, 1 / rho);
        double maxInv = Math.pow(sigmaMax, 1 / rho);
        double[] ramp = TimestepSpacing.numpyLinspace(0, 1, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = Math.pow(maxInv + ramp[i] * (minInv - maxInv), rho);
        return out;
    }
}
