package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

/**
 * diffusers' EulerAncestralDiscreteScheduler (k-diffusion sample_euler_ancestral, eta 1): an Euler step to
 * sigma_down, then fresh noise of size sigma_up. Consumes one noise tensor per step.
 */
public final class EulerAncestralSampler extends SigmaSampler {
    private final SigmaOptions options;

    public EulerAncestralSampler(NoiseSchedule ns, SigmaOptions options) {
        super(ns);
        if (ns.predictionType() == PredictionType.SAMPLE) {
            throw new IllegalArgumentException("euler-ancestral does not support prediction_type 'sample' (diffusers neither)");
        }
        this.options = options;
    }

    public static EulerAncestralSampler fromConfig(SchedulerConfig cfg) {
        return new EulerAncestralSampler(NoiseSchedule.fromConfig(cfg, true), SigmaOptions.fromConfig(cfg));
    }

    @Override
    public String name() {
        return "euler-ancestral";
    }

    @Override
    public DiscreteSchedule schedule(int steps) {
        return EulerSchedules.eulerAncestral(noiseSchedule, options, steps);
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        return loop(model, req, this::step);
    }

    private StepResult step(SamplingRun run, DiscreteSchedule s, int i, int step, Latents x) {
        float from = s.sigmas()[i];
        float to = s.sigmas()[i + 1];
        float[] xs = x.data();
        Latents out = run.evaluate(scaleInput(x, from), step, s.timesteps()[i], from);
        float[] x0 = predictX0(noiseSchedule.predictionType(), out.data(), xs, from, from);
        float up = (float) Math.sqrt(to * to * (from * from - to * to) / (from * from));
        float down = (float) Math.sqrt(to * to - up * up);
        float dt = down - from;
        float[] z = run.stepNoise(step).data();
        float[] prev = new float[xs.length];
        for (int k = 0; k < xs.length; k++) {
            float derivative = (xs[k] - x0[k]) / from;
            prev[k] = xs[k] + derivative * dt;
            prev[k] = prev[k] + z[k] * up;
        }
        return new StepResult(prev, x0);
    }
}
