package dev.unet4j.samplers.pndm;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' PNDMScheduler with {@code skip_prk_steps} (PLMS): a linear multistep method over the stored model
 * outputs with diffusers' warm-up, which evaluates the second timestep twice (n steps = n + 1 model calls):
 * <ol>
 *   <li>call 0 at t0 stores e0 and the sample, returns a provisional first-order sample at t1;</li>
 *   <li>call 1 at t1 (not stored) recomputes the t1 sample from the stored one with (e0 + e1) / 2;</li>
 *   <li>then Adams-Bashforth over the stored outputs: (3 e1 - e0)/2, (23, -16, 5)/12, (55, -59, 37, -9)/24.</li>
 * </ol>
 * Every scalar is a float32 tensor op and the latent arithmetic is float32, as in diffusers. {@code
 * scale_model_input} is the identity and init_noise_sigma is 1.
 */
public final class PndmSampler implements Sampler {
    private final NoiseSchedule schedule;
    private final PndmOptions options;
    private final float finalAlphaCumprod;

    public PndmSampler(NoiseSchedule schedule, PndmOptions options) {
        if (schedule.predictionType() == PredictionType.SAMPLE) {
            throw new IllegalArgumentException("PNDM supports prediction_type epsilon and v_prediction, not sample (diffusers neither)");
        }
        this.schedule = schedule;
        this.options = options;
        this.finalAlphaCumprod = options.setAlphaToOne() ? 1.0f : schedule.alphaCumprod(0);
    }

    public static PndmSampler fromConfig(SchedulerConfig cfg) {
        return new PndmSampler(NoiseSchedule.fromConfig(cfg, false), PndmOptions.fromConfig(cfg));
    }

    @Override
    public String name() {
        return "pndm";
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    /**
     * The timesteps of the model calls for {@code steps} inference steps: the spaced timesteps d0 &gt; d1 &gt; ...
     * with d1 repeated (diffusers' {@code plms_timesteps}), so {@code steps + 1} entries for {@code steps >= 2}.
     */
    public long[] timesteps(int steps) {
        long[] d = options.spacing().ddim(schedule.numTrainTimesteps(), steps, options.stepsOffset());
        for (long t : d) {
            if (t < 0 || t >= schedule.numTrainTimesteps()) {
                throw new IllegalArgumentException("PNDM timestep " + t + " outside [0, " + schedule.numTrainTimesteps()
                        + "); check steps_offset");
            }
        }
        if (d.length < 2) return d;
        long[] out = new long[d.length + 1];
        out[0] = d[0];
        System.arraycopy(d, 1, out, 2, d.length - 1);
        out[1] = d[1];
        return out;
    }

    /** The per-run multistep state of diffusers' scheduler ({@code ets}, {@code counter}, {@code cur_sample}). */
    public final class State {
        private final int steps;
        private final List<float[]> ets = new ArrayList<>();
        private int counter;
        private float[] curSample;

        /** A fresh state for a run of {@code steps} inference steps. */
        public State(int steps) {
            this.steps = steps;
        }

        /** diffusers' {@code step_plms}: the sample at the previous timestep. */
        public Latents step(Latents modelOutput, long timestep, Latents sample) {
            sample.requireSameShape(modelOutput, "model output");
            int stride = schedule.numTrainTimesteps() / steps;
            long prevT = timestep - stride;
            long t = timestep;
            float[] m = modelOutput.data();
            if (counter != 1) {
                if (ets.size() > 3) ets.remove(0);
                ets.add(m);
            } else {
                prevT = timestep;
                t = timestep + stride;
            }
            float[] x = sample.data();
            float[] e;
            int n = m.length;
            int k = ets.size();
            if (k == 1 && counter == 0) {
                e = m;
                curSample = x;
            } else if (k == 1 && counter == 1) {
                float[] e0 = ets.get(0);
                e = new float[n];
                for (int i = 0; i < n; i++) e[i] = (m[i] + e0[i]) / 2;
                x = curSample;
                curSample = null;
            } else if (k == 2) {
                float[] e1 = ets.get(1);
                float[] e0 = ets.get(0);
                e = new float[n];
                for (int i = 0; i < n; i++) e[i] = (3 * e1[i] - e0[i]) / 2;
            } else if (k == 3) {
                float[] e1 = ets.get(2);
                float[] e2 = ets.get(1);
                float[] e3 = ets.get(0);
                e = new float[n];
                for (int i = 0; i < n; i++) e[i] = (23 * e1[i] - 16 * e2[i] + 5 * e3[i]) / 12;
            } else {
                float[] e1 = ets.get(3);
                float[] e2 = ets.get(2);
                float[] e3 = ets.get(1);
                float[] e4 = ets.get(0);
                float c = (float) (1.0 / 24);
                e = new float[n];
                for (int i = 0; i < n; i++) e[i] = c * (55 * e1[i] - 59 * e2[i] + 37 * e3[i] - 9 * e4[i]);
            }
            counter++;
            return sample.withData(prevSample(x, t, prevT, e));
        }
    }

    /**
     * diffusers' {@code _get_prev_sample} (formula (9) of the PNDM paper): x_prev = sqrt(a_prev/a_t) x -
     * (a_prev - a_t) e / (a_t sqrt(1 - a_prev) + sqrt(a_t (1 - a_t) a_prev)).
     */
    float[] prevSample(float[] x, long t, long prevT, float[] e) {
        float at = schedule.alphaCumprod((int) t);
        float ap = prevT >= 0 ? schedule.alphaCumprod((int) prevT) : finalAlphaCumprod;
        float bt = 1.0f - at;
        float bp = 1.0f - ap;
        int n = x.length;
        if (schedule.predictionType() == PredictionType.V_PREDICTION) {
            float sa = (float) Math.sqrt(at);
            float sb = (float) Math.sqrt(bt);
            float[] eps = new float[n];
            for (int i = 0; i < n; i++) eps[i] = sa * e[i] + sb * x[i];
            e = eps;
        }
        float sampleCoeff = (float) Math.sqrt(ap / at);
        float denom = at * (float) Math.sqrt(bp) + (float) Math.sqrt(at * bt * ap);
        float diff = ap - at;
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = sampleCoeff * x[i] - diff * e[i] / denom;
        return out;
    }

    /** The x0 the raw model output at {@code t} implies (for previews; PNDM itself never forms it). */
    Latents predictX0(Latents modelOutput, long t, Latents sample) {
        float at = schedule.alphaCumprod((int) t);
        float sa = (float) Math.sqrt(at);
        float sb = (float) Math.sqrt(1.0f - at);
        float[] m = modelOutput.data();
        float[] x = sample.data();
        float[] x0 = new float[x.length];
        boolean v = schedule.predictionType() == PredictionType.V_PREDICTION;
        for (int i = 0; i < x.length; i++) x0[i] = v ? sa * x[i] - sb * m[i] : (x[i] - sb * m[i]) / sa;
        return sample.withData(x0);
    }

    /** PNDMScheduler.add_noise (the DDPM forward process): sqrt(a_t) x0 + sqrt(1 - a_t) noise. */
    public Latents addNoise(Latents original, Latents noise, long t) {
        return schedule.addNoise(original, noise, t);
    }

    /**
     * The loop of StableDiffusionPipeline: one model call per entry of {@link #timesteps}. For img2img the run
     * starts at entry {@code startStep} (diffusers slices {@code timesteps[t_start * order:]} with order 1) with
     * a fresh multistep state.
     */
    @Override
    public Latents sample(Denoiser model, SamplingRequest request) {
        long[] ts = timesteps(request.steps());
        int start = request.startStep();
        Latents x = schedule.startLatents(request, ts[start]);
        SamplingRun run = new SamplingRun(model, request, ts.length - start);
        State state = new State(request.steps());
        for (int i = start; i < ts.length; i++) {
            int step = i - start;
            long t = ts[i];
            double sigma = schedule.sigma((int) t);
            x = run.beginStep(step, t, sigma, x);
            Latents out = run.evaluate(x, step, t, sigma);
            Latents x0 = predictX0(out, t, x);
            x = state.step(out, t, x);
            run.completed(step, t, sigma, x, x0);
        }
        return x;
    }
}
