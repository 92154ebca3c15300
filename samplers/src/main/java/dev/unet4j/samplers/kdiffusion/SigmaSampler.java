package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;

/** Shared parts of the sigma-space samplers (diffusers' Euler/Heun/EulerAncestral/DPM-Solver schedulers). */
public abstract class SigmaSampler implements Sampler {
    protected final NoiseSchedule noiseSchedule;

    protected SigmaSampler(NoiseSchedule noiseSchedule) {
        this.noiseSchedule = noiseSchedule;
    }

    public NoiseSchedule noiseSchedule() {
        return noiseSchedule;
    }

    /** The schedule for {@code steps} inference steps. */
    public abstract DiscreteSchedule schedule(int steps);

    /** What one step of {@link #loop} computed: the next latents' data and this step's x0 prediction. */
    protected record StepResult(float[] next, float[] x0) {
    }

    /** One step of {@link #loop}: from {@code x} at schedule entry {@code i}, the run's step {@code step}. */
    protected interface Step {
        StepResult apply(SamplingRun run, DiscreteSchedule s, int i, int step, Latents x);
    }

    /**
     * The loop of the samplers with one schedule entry per step: the schedule, the start latents, then one
     * {@code step} per entry from the request's start step, each reported to the run with the entry's timestep and
     * sigma.
     */
    protected final Latents loop(Denoiser model, SamplingRequest req, Step step) {
        DiscreteSchedule s = schedule(req.steps());
        int begin = req.startStep();
        Latents x = start(req, s, begin);
        int n = s.length();
        SamplingRun run = new SamplingRun(model, req, n - begin);
        for (int i = begin; i < n; i++) {
            x = run.beginStep(i - begin, s.timesteps()[i], s.sigmas()[i], x);
            StepResult r = step.apply(run, s, i, i - begin, x);
            x = x.withData(r.next());
            run.completed(i - begin, s.timesteps()[i], s.sigmas()[i], x, x.withData(r.x0()));
        }
        return x;
    }

    /**
     * Initial latents: noise * init_noise_sigma for text-to-image; for img2img the init image noised to the sigma
     * of schedule entry {@code beginIndex} with {@link #addNoise}.
     */
    protected Latents start(SamplingRequest req, DiscreteSchedule s, int beginIndex) {
        Latents noise = req.noise().initial(req.shape());
        if (req.initImage() != null) return addNoise(req.initImage(), noise, s.sigmas()[beginIndex]);
        float scale = s.initNoiseSigma();
        float[] d = noise.data();
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) out[i] = d[i] * scale;
        return noise.withData(out);
    }

    /** Euler-family add_noise: x0 + noise * sigma. */
    public Latents addNoise(Latents original, Latents noise, float sigma) {
        original.requireSameShape(noise, "noise");
        float[] o = original.data();
        float[] z = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < o.length; i++) out[i] = o[i] + z[i] * sigma;
        return original.withData(out);
    }

    /** scale_model_input: x / (sigma^2 + 1)^0.5, float32. */
    protected static Latents scaleInput(Latents x, float sigma) {
        float c = (float) Math.sqrt(sigma * sigma + 1.0f);
        float[] d = x.data();
        float[] out = new float[d.length];
        for (int i = 0; i < d.length; i++) out[i] = d[i] / c;
        return x.withData(out);
    }

    /**
     * The Euler-family x0 prediction: eps: x - sigma_in m; v: m (-sigma/(sigma^2+1)^0.5) + x/(sigma^2+1);
     * sample: m. {@code sigmaEps} is the sigma diffusers uses in the epsilon branch (sigma_hat under churn).
     */
    protected static float[] predictX0(PredictionType type, float[] m, float[] x, float sigmaEps, float sigma) {
        float[] x0 = new float[x.length];
        switch (type) {
            case EPSILON -> {
                for (int i = 0; i < x.length; i++) x0[i] = x[i] - sigmaEps * m[i];
            }
            case V_PREDICTION -> {
                float s2 = sigma * sigma + 1.0f;
                float cOut = -sigma / (float) Math.sqrt(s2);
                for (int i = 0; i < x.length; i++) x0[i] = m[i] * cOut + x[i] / s2;
            }
            case SAMPLE -> System.arraycopy(m, 0, x0, 0, x.length);
        }
        return x0;
    }
}
