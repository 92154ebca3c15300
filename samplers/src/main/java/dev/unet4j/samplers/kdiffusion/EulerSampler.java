package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

/**
 * diffusers' EulerDiscreteScheduler (k-diffusion's sample_euler), optionally with Karras sigmas and churn.
 * Churn follows diffusers: the model sees the pre-churn sample (scaled by sigma) and the churn noise is added inside
 * the step; one noise tensor is consumed per step only when {@code sChurn > 0}.
 */
public final class EulerSampler extends SigmaSampler {
    /** step() arguments: s_churn, s_tmin, s_tmax, s_noise (defaults 0, 0, inf, 1). */
    public record Churn(double sChurn, double sTmin, double sTmax, double sNoise) {
        /** NaN or negative settings would put NaN into every churned step's noise: refused. */
        public Churn {
            if (!Double.isFinite(sChurn) || sChurn < 0) throw new IllegalArgumentException("s_churn must be a finite number >= 0, got " + sChurn);
            if (!Double.isFinite(sTmin) || sTmin < 0) throw new IllegalArgumentException("s_tmin must be a finite number >= 0, got " + sTmin);
            if (Double.isNaN(sTmax) || sTmax < sTmin) throw new IllegalArgumentException("s_tmax must be >= s_tmin (" + sTmin + "), got " + sTmax);
            if (!Double.isFinite(sNoise) || sNoise < 0) throw new IllegalArgumentException("s_noise must be a finite number >= 0, got " + sNoise);
        }

        public static final Churn NONE = new Churn(0, 0, Double.POSITIVE_INFINITY, 1);
    }

    private final SigmaOptions options;
    private final Churn churn;

    public EulerSampler(NoiseSchedule ns, SigmaOptions options, Churn churn) {
        super(ns);
        this.options = options;
        this.churn = churn;
    }

    public static EulerSampler fromConfig(SchedulerConfig cfg) {
        return new EulerSampler(NoiseSchedule.fromConfig(cfg, true), SigmaOptions.fromConfig(cfg), Churn.NONE);
    }

    public EulerSampler withOptions(SigmaOptions o) {
        return new EulerSampler(noiseSchedule, o, churn);
    }

    public EulerSampler withChurn(Churn c) {
        return new EulerSampler(noiseSchedule, options, c);
    }

    @Override
    public String name() {
        return options.useKarrasSigmas() ? "euler-karras" : "euler";
    }

    @Override
    public DiscreteSchedule schedule(int steps) {
        return EulerSchedules.euler(noiseSchedule, options, steps);
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        return loop(model, req, this::step);
    }

    private StepResult step(SamplingRun run, DiscreteSchedule s, int i, int step, Latents x) {
        float[] sig = s.sigmas();
        float sigma = sig[i];
        Latents out = run.evaluate(scaleInput(x, sigma), step, s.timesteps()[i], sigma);
        double gamma = churn.sChurn() > 0 && churn.sTmin() <= sigma && sigma <= churn.sTmax()
                ? Math.min(churn.sChurn() / (sig.length - 1), Math.sqrt(2) - 1) : 0.0;
        float sigmaHat = sigma * (float) (gamma + 1);
        float[] xs = x.data().clone();
        if (churn.sChurn() > 0) {
            Latents noise = run.stepNoise(step);
            if (gamma > 0) {
                float amp = (float) Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
                float sn = (float) churn.sNoise();
                float[] z = noise.data();
                for (int k = 0; k < xs.length; k++) xs[k] = xs[k] + (z[k] * sn) * amp;
            }
        }
        float[] x0 = predictX0(noiseSchedule.predictionType(), out.data(), xs, sigmaHat, sigma);
        float dt = sig[i + 1] - sigmaHat;
        float[] prev = new float[xs.length];
        for (int k = 0; k < xs.length; k++) {
            float derivative = (xs[k] - x0[k]) / sigmaHat;
            prev[k] = xs[k] + derivative * dt;
        }
        return new StepResult(prev, x0);
    }
}
