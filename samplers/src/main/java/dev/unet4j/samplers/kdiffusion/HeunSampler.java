package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

/**
 * diffusers' HeunDiscreteScheduler (Karras 2022 Algorithm 1): per step an Euler predictor at (t_i, sigma_i) and a
 * trapezoidal corrector evaluated at (t_{i+1}, sigma_{i+1}); the last step (sigma_{i+1} = 0) is plain Euler.
 * 2n - 1 model evaluations for n steps. The step index of {@link dev.unet4j.samplers.ModelCall} is the sigma step.
 */
public final class HeunSampler extends SigmaSampler {
    private final SigmaOptions options;
    private final boolean clipSample;
    private final double clipSampleRange;

    public HeunSampler(NoiseSchedule ns, SigmaOptions options, boolean clipSample, double clipSampleRange) {
        super(ns);
        this.options = options;
        this.clipSample = clipSample;
        this.clipSampleRange = clipSampleRange;
    }

    public static HeunSampler fromConfig(SchedulerConfig cfg) {
        return new HeunSampler(NoiseSchedule.fromConfig(cfg, true), SigmaOptions.fromConfig(cfg),
                cfg.bool("clip_sample", false), cfg.number("clip_sample_range", 1.0));
    }

    public HeunSampler withOptions(SigmaOptions o) {
        return new HeunSampler(noiseSchedule, o, clipSample, clipSampleRange);
    }

    @Override
    public String name() {
        return options.useKarrasSigmas() ? "heun-karras" : "heun";
    }

    /** The repeated (diffusers) layout: 2n - 1 timesteps, 2n sigmas. */
    @Override
    public DiscreteSchedule schedule(int steps) {
        return EulerSchedules.heun(noiseSchedule, options, steps);
    }

    private float[] x0(Latents out, float[] x, float sigma) {
        float[] x0 = predictX0(noiseSchedule.predictionType(), out.data(), x, sigma, sigma);
        if (clipSample) {
            float r = (float) clipSampleRange;
            for (int k = 0; k < x0.length; k++) x0[k] = Math.max(-r, Math.min(r, x0[k]));
        }
        return x0;
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        DiscreteSchedule s = schedule(req.steps());
        int n = req.steps();
        int begin = req.startStep();
        // entry 2k of the repeated layout is step k's first evaluation (sigma_k, t_k), for every k
        Latents x = start(req, s, 2 * begin);
        float[] sig = s.sigmas();
        double[] ts = s.timesteps();
        SamplingRun run = new SamplingRun(model, req, n - begin);
        for (int k = begin; k < n; k++) {
            int step = k - begin;
            float sigma = sig[2 * k];
            float sigmaNext = sig[2 * k + 1];
            x = run.beginStep(step, ts[2 * k], sigma, x);
            float[] xs = x.data();
            Latents out = run.evaluate(scaleInput(x, sigma), step, ts[2 * k], sigma);
            float[] x0 = x0(out, xs, sigma);
            float dt = sigmaNext - sigma;
            float[] d1 = new float[xs.length];
            float[] prev = new float[xs.length];
            for (int i = 0; i < xs.length; i++) {
                d1[i] = (xs[i] - x0[i]) / sigma;
                prev[i] = xs[i] + d1[i] * dt;
            }
            if (sigmaNext > 0) {
                Latents mid = x.withData(prev);
                Latents out2 = run.evaluate(scaleInput(mid, sigmaNext), step, ts[2 * k + 1], sigmaNext);
                x0 = x0(out2, prev, sigmaNext);
                float[] corrected = new float[xs.length];
                for (int i = 0; i < xs.length; i++) {
                    float d2 = (prev[i] - x0[i]) / sigmaNext;
                    float d = (d1[i] + d2) / 2;
                    corrected[i] = xs[i] + d * dt;
                }
                prev = corrected;
            }
            x = x.withData(prev);
            run.completed(step, ts[2 * k], sigma, x, x.withData(x0));
        }
        return x;
    }
}
