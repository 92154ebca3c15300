package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.Thresholding;
import dev.unet4j.samplers.schedule.KarrasSigmas;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.samplers.schedule.TimestepSpacing;

/**
 * diffusers' DPMSolverMultistepScheduler with algorithm_type "dpmsolver++" (Lu et al. 2022, DPM-Solver++(2M)):
 * data-prediction multistep solver of order 1 or 2, midpoint or heun second-order formula, lower-order steps at
 * the start and (lower_order_final / euler_at_final / final sigma 0) at the end, float32 scalar math as diffusers.
 * Deterministic: consumes no step noise. Karras sigmas span the whole training range (not the spaced one).
 */
public final class DpmSolverSampler extends SigmaSampler {
    /**
     * @param solverOrder      1 or 2
     * @param heunSolver       solver_type "heun" instead of "midpoint"
     * @param finalSigmaMin    final_sigmas_type "sigma_min" instead of "zero"
     * @param customTimesteps  explicit descending int timesteps, or null
     */
    public record Options(TimestepSpacing spacing, int stepsOffset, int solverOrder, boolean heunSolver,
                          boolean lowerOrderFinal, boolean eulerAtFinal, boolean useKarrasSigmas, boolean finalSigmaMin,
                          boolean thresholding, double dynamicThresholdingRatio, double sampleMaxValue,
                          long[] customTimesteps) {
        public Options {
            if (solverOrder != 1 && solverOrder != 2) {
                throw new IllegalArgumentException("solver_order " + solverOrder + " is not supported (1 or 2)");
            }
            if (customTimesteps != null && useKarrasSigmas) throw new IllegalArgumentException("custom timesteps cannot be used with Karras sigmas");
            customTimesteps = customTimesteps == null ? null : customTimesteps.clone();
        }

        public static Options fromConfig(SchedulerConfig cfg) {
            String algorithm = cfg.string("algorithm_type", "dpmsolver++");
            if (!algorithm.equals("dpmsolver++")) {
                throw new IllegalArgumentException(cfg.source() + ": algorithm_type '" + algorithm + "' is not supported (dpmsolver++ only)");
            }
            String solverType = cfg.string("solver_type", "midpoint");
            if (!solverType.equals("midpoint") && !solverType.equals("heun")) {
                throw new IllegalArgumentException(cfg.source() + ": solver_type must be midpoint or heun, got " + solverType);
            }
            Double lambdaMin = cfg.numberOrNull("lambda_min_clipped");
            if (lambdaMin != null && !lambdaMin.isInfinite()) {
                throw new IllegalArgumentException(cfg.source() + ": lambda_min_clipped is not supported (only -inf)");
            }
            if (cfg.string("variance_type", null) != null) {
                throw new IllegalArgumentException(cfg.source() + ": learned variance (variance_type) is not supported");
            }
            return new Options(TimestepSpacing.fromConfig(cfg.string("timestep_spacing", "linspace"), cfg.source()),
                    cfg.integer("steps_offset", 0), cfg.integer("solver_order", 2), solverType.equals("heun"),
                    cfg.bool("lower_order_final", true), cfg.bool("euler_at_final", false),
                    cfg.bool("use_karras_sigmas", false), cfg.string("final_sigmas_type", "zero").equals("sigma_min"),
                    cfg.bool("thresholding", false), cfg.number("dynamic_thresholding_ratio", 0.995),
                    cfg.number("sample_max_value", 1.0), null);
        }

        public Options withKarras(boolean karras) {
            return new Options(spacing, stepsOffset, solverOrder, heunSolver, lowerOrderFinal, eulerAtFinal, karras,
                    finalSigmaMin, thresholding, dynamicThresholdingRatio, sampleMaxValue, customTimesteps);
        }

        public Options withCustomTimesteps(long... timesteps) {
            return new Options(spacing, stepsOffset, solverOrder, heunSolver, lowerOrderFinal, eulerAtFinal, false,
                    finalSigmaMin, thresholding, dynamicThresholdingRatio, sampleMaxValue, timesteps);
        }
    }

    private final Options options;

    public DpmSolverSampler(NoiseSchedule ns, Options options) {
        super(ns);
        this.options = options;
    }

    public static DpmSolverSampler fromConfig(SchedulerConfig cfg) {
        return new DpmSolverSampler(NoiseSchedule.fromConfig(cfg, true), Options.fromConfig(cfg));
    }

    public DpmSolverSampler withOptions(Options o) {
        return new DpmSolverSampler(noiseSchedule, o);
    }

    @Override
    public String name() {
        return options.useKarrasSigmas() ? "dpmpp-2m-karras" : "dpmpp-2m";
    }

    @Override
    public DiscreteSchedule schedule(int steps) {
        long[] ts;
        double[] body;
        if (options.useKarrasSigmas()) {
            body = KarrasSigmas.of(noiseSchedule.sigmaMin(), noiseSchedule.sigmaMax(), 7.0, steps);
            ts = new long[steps];
            for (int i = 0; i < steps; i++) ts[i] = (long) Math.rint(noiseSchedule.sigmaToT(body[i]));
        } else {
            ts = options.customTimesteps() != null ? options.customTimesteps()
                    : options.spacing().dpmSolver(noiseSchedule.numTrainTimesteps(), steps, options.stepsOffset());
            int train = noiseSchedule.numTrainTimesteps();
            for (long t : ts) {
                // interpolateSigma would clamp a wrong value silently and the UNet would see it unchanged
                if (t < 0 || t >= train) {
                    throw new IllegalArgumentException("DPM-Solver timestep " + t + " outside [0, " + train + "); check custom timesteps");
                }
            }
            body = new double[ts.length];
            for (int i = 0; i < ts.length; i++) body[i] = noiseSchedule.interpolateSigma(ts[i]);
        }
        float[] sig = new float[ts.length + 1];
        for (int i = 0; i < ts.length; i++) sig[i] = (float) body[i];
        sig[ts.length] = options.finalSigmaMin() ? noiseSchedule.sigmaMin() : 0f;
        double[] td = new double[ts.length];
        for (int i = 0; i < ts.length; i++) td[i] = ts[i];
        return new DiscreteSchedule(td, sig, 1.0f, 1);
    }

    /** DPM-Solver add_noise: alpha_t x0 + sigma_t noise with the VP alpha_t, sigma_t of the sigma. */
    @Override
    public Latents addNoise(Latents original, Latents noise, float sigma) {
        original.requireSameShape(noise, "noise");
        float alpha = alphaOf(sigma);
        float sigmaT = sigma * alpha;
        float[] o = original.data();
        float[] z = noise.data();
        float[] out = new float[o.length];
        for (int i = 0; i < o.length; i++) out[i] = alpha * o[i] + sigmaT * z[i];
        return original.withData(out);
    }

    private static float alphaOf(float sigma) {
        return 1.0f / (float) Math.sqrt(sigma * sigma + 1.0f);
    }

    private static float lambdaOf(float sigma) {
        float alpha = alphaOf(sigma);
        return (float) Math.log(alpha) - (float) Math.log(sigma * alpha);
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        return loop(model, req, new Multistep());
    }

    /** One run's multistep state: the previous step's x0 and how many lower-order steps have been taken. */
    private final class Multistep implements Step {
        private float[] previousX0;
        private int lowerOrderNums;

        @Override
        public StepResult apply(SamplingRun run, DiscreteSchedule s, int i, int step, Latents x) {
            float[] sig = s.sigmas();
            int n = s.length();
            float sigma = sig[i];
            Latents out = run.evaluate(x, step, s.timesteps()[i], sigma);
            float[] xs = x.data();
            float[] m = out.data();
            // convert_model_output: the data prediction
            float alphaS = alphaOf(sigma);
            float sigmaS = sigma * alphaS;
            float[] x0 = new float[xs.length];
            for (int k = 0; k < xs.length; k++) {
                x0[k] = switch (noiseSchedule.predictionType()) {
                    case EPSILON -> (xs[k] - sigmaS * m[k]) / alphaS;
                    case V_PREDICTION -> alphaS * xs[k] - sigmaS * m[k];
                    case SAMPLE -> m[k];
                };
            }
            if (options.thresholding()) Thresholding.apply(x.withData(x0), options.dynamicThresholdingRatio(), options.sampleMaxValue());

            boolean last = i == n - 1;
            boolean lowerOrderFinal = last && (options.eulerAtFinal() || (options.lowerOrderFinal() && n < 15)
                    || !options.finalSigmaMin());
            float sigmaT = sig[i + 1];
            float alphaT = alphaOf(sigmaT);
            float sigT = sigmaT * alphaT;
            float h = lambdaOf(sigmaT) - lambdaOf(sigma);
            float expm1 = (float) Math.exp(-h) - 1.0f;
            float ratio = sigT / sigmaS;
            float c0 = alphaT * expm1;
            float[] prev = new float[xs.length];
            if (options.solverOrder() == 1 || lowerOrderNums < 1 || lowerOrderFinal) {
                for (int k = 0; k < xs.length; k++) prev[k] = ratio * xs[k] - c0 * x0[k];
            } else {
                float h0 = lambdaOf(sigma) - lambdaOf(sig[i - 1]);
                float r0 = h0 / h;
                float invR0 = 1.0f / r0;
                float c1 = options.heunSolver() ? alphaT * (expm1 / h + 1.0f) : 0.5f * c0;
                for (int k = 0; k < xs.length; k++) {
                    float d1 = invR0 * (x0[k] - previousX0[k]);
                    prev[k] = options.heunSolver() ? ratio * xs[k] - c0 * x0[k] + c1 * d1
                            : ratio * xs[k] - c0 * x0[k] - c1 * d1;
                }
            }
            if (lowerOrderNums < options.solverOrder()) lowerOrderNums++;
            previousX0 = x0;
            return new StepResult(prev, x0);
        }
    }
}
