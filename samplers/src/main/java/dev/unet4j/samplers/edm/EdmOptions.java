package dev.unet4j.samplers.edm;

/**
 * Karras et al. 2022 Algorithm 2 settings (defaults as NVlabs/edm generate.py).
 *
 * @param heun             second-order (Heun) correction on every step but the last; false = Euler
 * @param sChurn           total stochasticity; 0 = deterministic ODE sampling
 * @param sTmin            churn only for sigma in [sTmin, sTmax]
 * @param sNoise           noise inflation of the churn noise
 * @param customSigmas     explicit sigma schedule (descending, without the final 0), or null
 * @param float32Schedule  compute the Karras schedule in float32 like diffusers' EDMEulerScheduler (torch
 *                         float32 ramp) instead of generate.py's float64
 */
public record EdmOptions(double sigmaMin, double sigmaMax, double rho, boolean heun, double sChurn, double sTmin,
                         double sTmax, double sNoise, double[] customSigmas, boolean float32Schedule) {
    public EdmOptions {
        if (!(sigmaMin > 0) || !(sigmaMax > sigmaMin)) throw new IllegalArgumentException("need 0 < sigma_min < sigma_max");
        if (!(rho > 0)) throw new IllegalArgumentException("rho must be > 0");
        if (sChurn < 0) throw new IllegalArgumentException("S_churn must be >= 0");
        customSigmas = customSigmas == null ? null : customSigmas.clone();
    }

    public static EdmOptions defaults(boolean heun) {
        return new EdmOptions(0.002, 80, 7, heun, 0, 0, Double.POSITIVE_INFINITY, 1, null, false);
    }

    public EdmOptions withChurn(double churn, double tmin, double tmax, double noise) {
        return new EdmOptions(sigmaMin, sigmaMax, rho, heun, churn, tmin, tmax, noise, customSigmas, float32Schedule);
    }

    public EdmOptions withSigmaRange(double min, double max, double newRho) {
        return new EdmOptions(min, max, newRho, heun, sChurn, sTmin, sTmax, sNoise, customSigmas, float32Schedule);
    }

    public EdmOptions withCustomSigmas(double... sigmas) {
        return new EdmOptions(sigmaMin, sigmaMax, rho, heun, sChurn, sTmin, sTmax, sNoise, sigmas, float32Schedule);
    }

    public EdmOptions withFloat32Schedule(boolean f32) {
        return new EdmOptions(sigmaMin, sigmaMax, rho, heun, sChurn, sTmin, sTmax, sNoise, customSigmas, f32);
    }

    /** diffusers' EDMEulerScheduler.init_noise_sigma, sqrt(sigma_max^2 + 1) (Algorithm 2 itself scales by sigma_0). */
    public double diffusersInitNoiseSigma() {
        return Math.sqrt(sigmaMax * sigmaMax + 1);
    }
}
