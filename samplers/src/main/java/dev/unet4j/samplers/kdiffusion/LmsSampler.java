package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' LMSDiscreteScheduler (k-diffusion's sample_lms): linear multistep in sigma over the last {@code order}
 * derivatives d = (x - x0) / sigma, x_next = x + sum_j c_j d_{i-j}, where c_j integrates the Lagrange basis
 * polynomial of the past sigmas from sigma_i to sigma_{i+1}. diffusers integrates with scipy's quad; the integrand
 * is a polynomial of degree order-1, so it is integrated exactly here. The schedule is EulerDiscrete's.
 */
public final class LmsSampler extends SigmaSampler {
    private final SigmaOptions options;
    private final int order;

    public LmsSampler(NoiseSchedule ns, SigmaOptions options, int order) {
        super(ns);
        if (order < 1) throw new IllegalArgumentException("LMS order must be >= 1, got " + order);
        this.options = options;
        this.order = order;
    }

    /** The config's schedule fields; the step's {@code order} argument is diffusers' default 4. */
    public static LmsSampler fromConfig(SchedulerConfig cfg) {
        return new LmsSampler(NoiseSchedule.fromConfig(cfg, true), SigmaOptions.fromConfig(cfg), 4);
    }

    public LmsSampler withOptions(SigmaOptions o) {
        return new LmsSampler(noiseSchedule, o, order);
    }

    @Override
    public String name() {
        return options.useKarrasSigmas() ? "lms-karras" : "lms";
    }

    @Override
    public DiscreteSchedule schedule(int steps) {
        return EulerSchedules.euler(noiseSchedule, options.withFinalSigmaZero(), steps);
    }

    /**
     * diffusers' {@code get_lms_coefficient(order, t, current_order)}: the integral over [sigma_t, sigma_{t+1}] of
     * prod_{k != j} (tau - sigma_{t-k}) / (sigma_{t-j} - sigma_{t-k}).
     */
    public static double coefficient(float[] sigmas, int order, int t, int j) {
        double[] poly = {1.0}; // coefficients, lowest degree first
        for (int k = 0; k < order; k++) {
            if (k == j) continue;
            double denom = (double) sigmas[t - j] - sigmas[t - k];
            double root = sigmas[t - k];
            double[] next = new double[poly.length + 1];
            for (int p = 0; p < poly.length; p++) {
                next[p + 1] += poly[p] / denom;
                next[p] -= poly[p] * root / denom;
            }
            poly = next;
        }
        double a = sigmas[t];
        double b = sigmas[t + 1];
        double sum = 0;
        for (int p = 0; p < poly.length; p++) sum += poly[p] * (Math.pow(b, p + 1) - Math.pow(a, p + 1)) / (p + 1);
        return sum;
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        List<float[]> derivatives = new ArrayList<>();
        return loop(model, req, (run, s, i, step, x) -> step(run, s, i, step, x, derivatives));
    }

    private StepResult step(SamplingRun run, DiscreteSchedule s, int i, int step, Latents x, List<float[]> derivatives) {
        float[] sig = s.sigmas();
        float sigma = sig[i];
        Latents out = run.evaluate(scaleInput(x, sigma), step, s.timesteps()[i], sigma);
        float[] xs = x.data();
        float[] x0 = predictX0(noiseSchedule.predictionType(), out.data(), xs, sigma, sigma);
        float[] d = new float[xs.length];
        for (int k = 0; k < xs.length; k++) d[k] = (xs[k] - x0[k]) / sigma;
        derivatives.add(d);
        if (derivatives.size() > order) derivatives.remove(0);
        // diffusers' order is min(step_index + 1, order) with the index in the whole schedule (img2img sets
        // begin_index), and zip() stops at the derivatives actually stored
        int o = Math.min(i + 1, order);
        int terms = Math.min(o, derivatives.size());
        float[] next = new float[xs.length];
        float[] acc = new float[xs.length];
        for (int j = 0; j < terms; j++) {
            float c = (float) coefficient(sig, o, i, j);
            float[] dj = derivatives.get(derivatives.size() - 1 - j);
            for (int k = 0; k < xs.length; k++) acc[k] = acc[k] + c * dj[k];
        }
        for (int k = 0; k < xs.length; k++) next[k] = xs[k] + acc[k];
        return new StepResult(next, x0);
    }
}
