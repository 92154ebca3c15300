package dev.unet4j.samplers.ddim;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.StepResult;
import dev.unet4j.samplers.Thresholding;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

/**
 * DDIM (Song et al. 2020) with diffusers' DDIMScheduler semantics, rounding like diffusers: every coefficient is
 * a float32 scalar tensor op ({@code alpha_prod_t ** 0.5} etc.) and the latents arithmetic is float32.
 * Loop as DDIMPipeline / StableDiffusionPipeline: x = noise * 1.0; for each t: x = step(model(x, t), t, x).
 */
public final class DdimSampler implements Sampler {
    private final NoiseSchedule schedule;
    private final DdimOptions options;
    private final float finalAlphaCumprod;

    public DdimSampler(NoiseSchedule schedule, DdimOptions options) {
        this.schedule = schedule;
        this.options = options;
        this.finalAlphaCumprod = options.setAlphaToOne() ? 1.0f : schedule.alphaCumprod(0);
    }

    public static DdimSampler fromConfig(SchedulerConfig cfg) {
        return new DdimSampler(NoiseSchedule.fromConfig(cfg, false), DdimOptions.fromConfig(cfg));
    }

    public DdimSampler withOptions(DdimOptions newOptions) {
        return new DdimSampler(schedule, newOptions);
    }

    @Override
    public String name() {
        return "ddim";
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    public DdimOptions options() {
        return options;
    }

    public float finalAlphaCumprod() {
        return finalAlphaCumprod;
    }

    /** The descending timesteps for {@code steps} inference steps (or the custom ones). */
    public long[] timesteps(int steps) {
        long[] ts = options.customTimesteps() != null ? options.customTimesteps().clone()
                : options.spacing().ddim(schedule.numTrainTimesteps(), steps, options.stepsOffset());
        for (long t : ts) {
            if (t < 0 || t >= schedule.numTrainTimesteps()) {
                throw new IllegalArgumentException("DDIM timestep " + t + " outside [0, " + schedule.numTrainTimesteps()
                        + "); check steps_offset / custom timesteps");
            }
        }
        return ts;
    }

    /** The previous timestep of step {@code i} (negative = past the start: the final alpha is used). */
    public long prevTimestep(long[] timesteps, int i) {
        if (options.prevTimestepRule() == DdimOptions.PrevTimestepRule.NEXT_SCHEDULED) {
            return i + 1 < timesteps.length ? timesteps[i + 1] : -1;
        }
        return timesteps[i] - schedule.numTrainTimesteps() / timesteps.length;
    }

    private float alphaPrev(long prevT) {
        return prevT >= 0 ? schedule.alphaCumprod((int) prevT) : finalAlphaCumprod;
    }

    /** diffusers' {@code _get_variance}: (1 - a_prev)/(1 - a_t) * (1 - a_t/a_prev), float32. */
    public float variance(long t, long prevT) {
        float at = schedule.alphaCumprod((int) t);
        float ap = alphaPrev(prevT);
        return ((1.0f - ap) / (1.0f - at)) * (1.0f - at / ap);
    }

    /**
     * One DDIM step (eq. 12 of the paper). {@code noise} is the variance noise, used only when eta &gt; 0.
     */
    public StepResult step(Latents modelOutput, long t, long prevT, Latents sample, Latents noise) {
        sample.requireSameShape(modelOutput, "model output");
        float at = schedule.alphaCumprod((int) t);
        float ap = alphaPrev(prevT);
        float bt = 1.0f - at;
        float sqA = (float) Math.sqrt(at);
        float sqB = (float) Math.sqrt(bt);
        float[] x = sample.data();
        float[] m = modelOutput.data();
        int n = x.length;
        float[] x0 = new float[n];
        float[] eps = new float[n];
        PredictionType type = schedule.predictionType();
        for (int i = 0; i < n; i++) {
            switch (type) {
                case EPSILON -> {
                    x0[i] = (x[i] - sqB * m[i]) / sqA;
                    eps[i] = m[i];
                }
                case SAMPLE -> {
                    x0[i] = m[i];
                    eps[i] = (x[i] - sqA * x0[i]) / sqB;
                }
                case V_PREDICTION -> {
                    x0[i] = sqA * x[i] - sqB * m[i];
                    eps[i] = sqA * m[i] + sqB * x[i];
                }
            }
        }
        Latents pred = sample.withData(x0);
        if (options.thresholding()) {
            Thresholding.apply(pred, options.dynamicThresholdingRatio(), options.sampleMaxValue());
        } else if (options.clipSample()) {
            float r = (float) options.clipSampleRange();
            for (int i = 0; i < n; i++) x0[i] = Math.max(-r, Math.min(r, x0[i]));
        }
        float std = (float) options.eta() * (float) Math.sqrt(variance(t, prevT));
        if (options.useClippedModelOutput()) {
            for (int i = 0; i < n; i++) eps[i] = (x[i] - sqA * x0[i]) / sqB;
        }
        float dirCoef = (float) Math.sqrt(1.0f - ap - std * std);
        float sqAp = (float) Math.sqrt(ap);
        float[] prev = new float[n];
        for (int i = 0; i < n; i++) prev[i] = sqAp * x0[i] + dirCoef * eps[i];
        if (options.eta() > 0) {
            if (noise == null) throw new IllegalArgumentException("DDIM with eta > 0 needs variance noise");
            sample.requireSameShape(noise, "variance noise");
            float[] z = noise.data();
            for (int i = 0; i < n; i++) prev[i] = prev[i] + std * z[i];
        }
        return new StepResult(sample.withData(prev), pred);
    }

    /** DDIMScheduler.add_noise: sqrt(a_t) x0 + sqrt(1 - a_t) noise. */
    public Latents addNoise(Latents original, Latents noise, long t) {
        return schedule.addNoise(original, noise, t);
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest request) {
        long[] ts = timesteps(request.steps());
        int start = request.startStep();
        Latents x = schedule.startLatents(request, ts[start]);
        SamplingRun run = new SamplingRun(model, request, ts.length - start);
        for (int i = start; i < ts.length; i++) {
            int step = i - start;
            long t = ts[i];
            x = run.beginStep(step, t, schedule.sigma((int) t), x);
            Latents out = run.evaluate(x, step, t, schedule.sigma((int) t));
            Latents z = options.eta() > 0 ? run.stepNoise(step) : null;
            StepResult r = step(out, t, prevTimestep(ts, i), x, z);
            x = r.prevSample();
            run.completed(step, t, schedule.sigma((int) t), x, r.predOriginalSample());
        }
        return x;
    }
}
