package dev.unet4j.samplers.schedule;

import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.SamplingRequest;

/**
 * The training noise schedule of a diffusers scheduler: betas and alphas_cumprod as the float32 tensors diffusers
 * builds, plus the derived training sigmas and the sigma-to-timestep interpolation used by the k-diffusion style
 * samplers. Immutable; accessors return copies.
 */
public final class NoiseSchedule {
    private final float[] betas;
    private final float[] alphasCumprod;
    private final float[] sigmas;
    private final float[] logSigmas;
    private final PredictionType predictionType;

    private NoiseSchedule(float[] betas, float[] alphasCumprod, PredictionType predictionType) {
        this.betas = betas;
        this.alphasCumprod = alphasCumprod;
        this.predictionType = predictionType;
        int n = alphasCumprod.length;
        sigmas = new float[n];
        logSigmas = new float[n];
        for (int t = 0; t < n; t++) {
            float a = alphasCumprod[t];
            sigmas[t] = TorchMath.sqrt((1.0f - a) / a);
            logSigmas[t] = (float) Math.log(sigmas[t]); // np.log on a float32 array stays float32
        }
    }

    /**
     * The schedule as every diffusers scheduler builds it in {@code __init__}.
     *
     * @param fixTerminalAlpha with {@code rescale_betas_zero_snr}, the Euler/Heun/DPM family set the last
     *                         alphas_cumprod to 2^-24 so that the first sigma is finite; DDIM does not
     */
    public static NoiseSchedule fromConfig(SchedulerConfig cfg, boolean fixTerminalAlpha) {
        float[] betas = betas(cfg);
        for (int i = 0; i < betas.length; i++) {
            // a beta of 0 or less, or 1 or more, makes alphas_cumprod 0, negative or non-decreasing: NaN sigmas
            if (!(betas[i] > 0 && betas[i] < 1)) {
                throw new IllegalArgumentException(cfg.source() + ": beta " + i + " of the " + (cfg.trainedBetas() != null
                        ? "trained_betas" : cfg.betaSchedule() + " schedule (beta_start " + cfg.betaStart() + ", beta_end "
                        + cfg.betaEnd() + ")") + " is " + betas[i] + "; every beta must be in (0, 1)");
            }
        }
        if (cfg.rescaleBetasZeroSnr()) betas = rescaleZeroTerminalSnr(betas);
        float[] alphas = new float[betas.length];
        for (int i = 0; i < alphas.length; i++) alphas[i] = 1.0f - betas[i];
        float[] cumprod = TorchMath.cumprodF32(alphas);
        if (cfg.rescaleBetasZeroSnr() && fixTerminalAlpha) cumprod[cumprod.length - 1] = 0x1p-24f;
        return new NoiseSchedule(betas, cumprod, cfg.predictionType());
    }

    private static float[] betas(SchedulerConfig cfg) {
        int n = cfg.numTrainTimesteps();
        if (cfg.trainedBetas() != null) {
            float[] b = new float[n];
            for (int i = 0; i < n; i++) b[i] = (float) cfg.trainedBetas()[i];
            return b;
        }
        switch (cfg.betaSchedule()) {
            case "linear":
                return TorchMath.linspaceF32(cfg.betaStart(), cfg.betaEnd(), n);
            case "scaled_linear": {
                float[] b = TorchMath.linspaceF32(Math.sqrt(cfg.betaStart()), Math.sqrt(cfg.betaEnd()), n);
                for (int i = 0; i < n; i++) b[i] = b[i] * b[i];
                return b;
            }
            case "squaredcos_cap_v2": {
                // betas_for_alpha_bar with the cosine alpha_bar, in Python floats, then a float32 tensor
                float[] b = new float[n];
                for (int i = 0; i < n; i++) {
                    double t1 = (double) i / n;
                    double t2 = (double) (i + 1) / n;
                    b[i] = (float) Math.min(1 - cosineAlphaBar(t2) / cosineAlphaBar(t1), 0.999);
                }
                return b;
            }
            default:
                throw new IllegalArgumentException(cfg.source() + ": beta_schedule '" + cfg.betaSchedule()
                        + "' is not supported; expected linear, scaled_linear or squaredcos_cap_v2 (or trained_betas)");
        }
    }

    private static double cosineAlphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /**
     * The DDPM forward process at training timestep {@code t} (diffusers' DDIM/PNDM {@code add_noise}):
     * {@code sqrt(a_t) x0 + sqrt(1 - a_t) noise}, in float32 as torch computes it.
     */
    public Latents addNoise(Latents original, Latents noise, long t) {
        original.requireSameShape(noise, "noise");
        float at = alphaCumprod((int) t);
        float sa = (float) Math.sqrt(at);
        float sb = (float) Math.sqrt(1.0f - at);
        float[] o = original.data();
        float[] z = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < o.length; i++) out[i] = sa * o[i] + sb * z[i];
        return original.withData(out);
    }

    /**
     * The first latents of a DDIM/PNDM run (init_noise_sigma 1): the request's initial noise for text-to-image; for
     * img2img the init image noised to training timestep {@code t}, the run's first, with {@link #addNoise}.
     */
    public Latents startLatents(SamplingRequest request, long t) {
        Latents noise = request.noise().initial(request.shape());
        return request.initImage() == null ? noise : addNoise(request.initImage(), noise, t);
    }

    /** diffusers' rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1), in float32. */
    static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] alphas = new float[n];
        for (int i = 0; i < n; i++) alphas[i] = 1.0f - betas[i];
        float[] cum = TorchMath.cumprodF32(alphas);
        float[] sqrtBar = new float[n];
        for (int i = 0; i < n; i++) sqrtBar[i] = TorchMath.sqrt(cum[i]);
        float first = sqrtBar[0];
        float last = sqrtBar[n - 1];
        float scale = first / (first - last);
        float[] bar = new float[n];
        for (int i = 0; i < n; i++) {
            float s = (sqrtBar[i] - last) * scale;
            bar[i] = s * s;
        }
        float[] out = new float[n];
        out[0] = 1.0f - bar[0];
        for (int i = 1; i < n; i++) out[i] = 1.0f - bar[i] / bar[i - 1];
        return out;
    }

    public int numTrainTimesteps() {
        return alphasCumprod.length;
    }

    public PredictionType predictionType() {
        return predictionType;
    }

    public float[] betas() {
        return betas.clone();
    }

    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    public float alphaCumprod(int t) {
        if (t < 0 || t >= alphasCumprod.length) {
            throw new IndexOutOfBoundsException("timestep " + t + " outside the training schedule [0, "
                    + alphasCumprod.length + ")");
        }
        return alphasCumprod[t];
    }

    /** Training sigmas sqrt((1 - alpha_bar) / alpha_bar), in float32, indexed by timestep (ascending). */
    public float[] sigmas() {
        return sigmas.clone();
    }

    public float sigma(int t) {
        return sigmas[t];
    }

    public float sigmaMin() {
        return sigmas[0];
    }

    public float sigmaMax() {
        return sigmas[sigmas.length - 1];
    }

    /**
     * {@code np.interp(t, arange(T), sigmas)}: piecewise-linear sigma at a (possibly fractional) timestep, in
     * double, clamped to the ends.
     */
    public double interpolateSigma(double t) {
        int n = sigmas.length;
        if (!(t > 0)) return sigmas[0];
        if (t >= n - 1) return sigmas[n - 1];
        int j = (int) Math.floor(t);
        if (t == j) return sigmas[j];
        double slope = ((double) sigmas[j + 1] - sigmas[j]) / 1.0;
        return slope * (t - j) + sigmas[j];
    }

    /**
     * diffusers' {@code _sigma_to_t}: the fractional timestep whose training sigma is {@code sigma}, by linear
     * interpolation in log-sigma between the two neighbouring training sigmas, clamped to [0, T-1]. Rounds like
     * diffusers under NumPy 1.x: the log-sigma differences and the weight are float32, the final blend double.
     */
    public double sigmaToT(double sigma) {
        float logSigma = (float) Math.log(Math.max(sigma, 1e-10));
        int n = logSigmas.length;
        int low = 0;
        for (int i = 0; i < n; i++) if (logSigma - logSigmas[i] >= 0) low = i;
        low = Math.min(low, n - 2);
        float lo = logSigmas[low];
        float hi = logSigmas[low + 1];
        float w = (lo - logSigma) / (lo - hi);
        w = Math.max(0f, Math.min(1f, w));
        return (double) (1f - w) * low + (double) w * (low + 1);
    }
}
