package dev.unet4j.samplers;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.edm.EdmOptions;
import dev.unet4j.samplers.edm.EdmSampler;
import dev.unet4j.samplers.edm.Preconditioning;
import dev.unet4j.samplers.kdiffusion.DiscreteSchedule;
import dev.unet4j.samplers.kdiffusion.DpmSolverSampler;
import dev.unet4j.samplers.kdiffusion.EulerAncestralSampler;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.kdiffusion.HeunSampler;
import dev.unet4j.samplers.kdiffusion.SigmaSampler;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Samplers on a Gaussian data distribution whose exact denoiser and ODE solution are known: (1) each sampler
 * against a plain double-precision re-statement of its update rule (k-diffusion / generate.py / DDIM paper form),
 * with the same schedule and noise; (2) deterministic samplers converge to the closed-form ODE solution.
 */
class AnalyticSamplerTest {
    private static final GaussianData DATA = new GaussianData(0.3, 0.5);
    private static final int[] SHAPE = {2, 4, 4, 4};
    /** SD 1.5's schedule (scaled_linear, leading spacing, steps_offset 1). */
    private static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1,
             "timestep_spacing": "leading", "set_alpha_to_one": false, "clip_sample": false}""");

    private static Latents noise(long seed) {
        return Latents.randn(new TorchGenerator(seed), SHAPE);
    }

    private static List<Latents> stepNoise(int n) {
        List<Latents> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(noise(100 + i));
        return out;
    }

    private static double maxDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    private static double[] scaled(Latents n, double s) {
        double[] x = new double[n.numel()];
        for (int i = 0; i < x.length; i++) x[i] = n.data()[i] * s;
        return x;
    }

    private static double d(double x, double sigma) {
        return DATA.denoise(x, sigma);
    }

    // ---- plain re-statements (double precision, variance-exploding x) ----

    private static double[] eulerReference(double[] x, float[] sig) {
        for (int i = 0; i + 1 < sig.length; i++) {
            for (int k = 0; k < x.length; k++) x[k] += (x[k] - d(x[k], sig[i])) / sig[i] * (sig[i + 1] - sig[i]);
        }
        return x;
    }

    private static double[] heunReference(double[] x, double[] sig) {
        for (int i = 0; i + 1 < sig.length; i++) {
            for (int k = 0; k < x.length; k++) {
                double dd = (x[k] - d(x[k], sig[i])) / sig[i];
                double dt = sig[i + 1] - sig[i];
                double x2 = x[k] + dd * dt;
                if (sig[i + 1] == 0) {
                    x[k] = x2;
                } else {
                    double d2 = (x2 - d(x2, sig[i + 1])) / sig[i + 1];
                    x[k] = x[k] + (dd + d2) / 2 * dt;
                }
            }
        }
        return x;
    }

    @Test
    void eulerKarrasMatchesPlainEuler() {
        EulerSampler s = (EulerSampler) Samplers.byName("euler-karras", SamplerOptions.of(SD));
        DiscreteSchedule sch = s.schedule(12);
        Latents z = noise(1);
        Latents out = s.sample(DATA.epsilonModel(), SamplingRequest.of(12, SHAPE, NoiseSource.supplied(z, List.of())));
        double[] ref = eulerReference(scaled(z, sch.initNoiseSigma()), sch.sigmas());
        assertTrue(maxDiff(out.data(), ref) < 1e-4, "euler vs plain: " + maxDiff(out.data(), ref));
    }

    @Test
    void heunKarrasMatchesPlainHeun() {
        HeunSampler s = (HeunSampler) Samplers.byName("heun-karras", SamplerOptions.of(SD));
        int n = 9;
        float[] rep = s.schedule(n).sigmas();
        double[] sig = new double[n + 1];
        sig[0] = rep[0];
        for (int i = 1; i <= n; i++) sig[i] = rep[2 * i - 1];
        List<ModelCall> calls = new ArrayList<>();
        Denoiser m = DATA.epsilonModel();
        Latents z = noise(2);
        Latents out = s.sample((x, c) -> {
            calls.add(c);
            return m.predict(x, c);
        }, SamplingRequest.of(n, SHAPE, NoiseSource.supplied(z, List.of())));
        double[] ref = heunReference(scaled(z, s.schedule(n).initNoiseSigma()), sig);
        assertTrue(maxDiff(out.data(), ref) < 1e-4, "heun vs plain: " + maxDiff(out.data(), ref));
        assertTrue(calls.size() == 2 * n - 1, "2n-1 evaluations, got " + calls.size());
        for (int i = 0; i < calls.size(); i++) assertTrue(calls.get(i).callIndex() == i);
        assertTrue(calls.get(1).stepIndex() == 0 && calls.get(2).stepIndex() == 1, "both evaluations of a step share its index");
    }

    @Test
    void eulerAncestralMatchesPlainAncestral() {
        EulerAncestralSampler s = EulerAncestralSampler.fromConfig(SD);
        int n = 10;
        float[] sig = s.schedule(n).sigmas();
        Latents z = noise(3);
        List<Latents> steps = stepNoise(n);
        Latents out = s.sample(DATA.epsilonModel(), SamplingRequest.of(n, SHAPE, NoiseSource.supplied(z, steps)));
        double[] x = scaled(z, s.schedule(n).initNoiseSigma());
        for (int i = 0; i < n; i++) {
            double from = sig[i];
            double to = sig[i + 1];
            double up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
            double down = Math.sqrt(to * to - up * up);
            for (int k = 0; k < x.length; k++) {
                x[k] += (x[k] - d(x[k], from)) / from * (down - from);
                x[k] += steps.get(i).data()[k] * up;
            }
        }
        assertTrue(maxDiff(out.data(), x) < 1e-4, "euler-ancestral vs plain: " + maxDiff(out.data(), x));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dpmpp-2m", "dpmpp-2m-karras"})
    void dpmppMatchesKDiffusionSample2M(String name) {
        DpmSolverSampler s = (DpmSolverSampler) Samplers.byName(name, SamplerOptions.of(SD));
        int n = 12;
        float[] sig = s.schedule(n).sigmas();
        Latents z = noise(4);
        Latents out = s.sample(DATA.epsilonModel(), SamplingRequest.of(n, SHAPE, NoiseSource.supplied(z, List.of())));
        // k-diffusion sample_dpmpp_2m in VE coordinates; DPM's latents are VP: x_vp = x_ve / sqrt(s^2 + 1)
        double[] x = scaled(z, Math.sqrt((double) sig[0] * sig[0] + 1));
        double[] old = null;
        for (int i = 0; i < n; i++) {
            double t = -Math.log(sig[i]);
            double tNext = -Math.log(sig[i + 1]);
            double h = tNext - t;
            double[] den = new double[x.length];
            for (int k = 0; k < x.length; k++) den[k] = d(x[k], sig[i]);
            for (int k = 0; k < x.length; k++) {
                double dd = den[k];
                if (old != null && sig[i + 1] != 0) {
                    double r = (t - (-Math.log(sig[i - 1]))) / h;
                    dd = (1 + 1 / (2 * r)) * den[k] - (1 / (2 * r)) * old[k];
                }
                x[k] = (sig[i + 1] / (double) sig[i]) * x[k] - Math.expm1(-h) * dd;
            }
            old = den;
        }
        assertTrue(maxDiff(out.data(), x) < 1e-4, name + " vs plain: " + maxDiff(out.data(), x));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, 40.0})
    void edmMatchesGeneratePyRestatement(double churn) {
        for (boolean heun : new boolean[] {false, true}) {
            EdmOptions o = EdmOptions.defaults(heun).withChurn(churn, 0.05, 50, 1.003);
            EdmSampler s = new EdmSampler(Preconditioning.edm(0.5, PredictionType.EPSILON), o);
            int n = 18;
            double[] t = s.sigmas(n);
            Latents z = noise(5);
            List<Latents> steps = stepNoise(n);
            Latents out = s.sample(DATA.edmModel(0.5), SamplingRequest.of(n, SHAPE, NoiseSource.supplied(z, steps)));
            double[] x = scaled(z, t[0]);
            for (int i = 0; i < n; i++) {
                double gamma = 0.05 <= t[i] && t[i] <= 50 ? Math.min(churn / n, Math.sqrt(2) - 1) : 0;
                double tHat = t[i] + gamma * t[i];
                for (int k = 0; k < x.length; k++) {
                    double xHat = x[k] + Math.sqrt(tHat * tHat - t[i] * t[i]) * 1.003 * steps.get(i).data()[k];
                    double dCur = (xHat - d(xHat, tHat)) / tHat;
                    double next = xHat + (t[i + 1] - tHat) * dCur;
                    if (heun && i < n - 1) {
                        double dPrime = (next - d(next, t[i + 1])) / t[i + 1];
                        next = xHat + (t[i + 1] - tHat) * (0.5 * dCur + 0.5 * dPrime);
                    }
                    x[k] = next;
                }
            }
            double tol = 1e-5 * 80;
            assertTrue(maxDiff(out.data(), x) < tol, "edm heun=" + heun + " churn=" + churn + ": " + maxDiff(out.data(), x));
        }
    }

    @Test
    void ddimWithEtaMatchesThePaperUpdate() {
        DdimSampler s = DdimSampler.fromConfig(SD);
        s = s.withOptions(s.options().withEta(0.7));
        int n = 10;
        long[] ts = s.timesteps(n);
        NoiseSchedule ns = s.schedule();
        Latents z = noise(6);
        List<Latents> steps = stepNoise(n);
        Latents out = s.sample(DATA.epsilonModel(), SamplingRequest.of(n, SHAPE, NoiseSource.supplied(z, steps)));
        double[] x = scaled(z, 1); // VP latents
        for (int i = 0; i < n; i++) {
            double at = ns.alphaCumprod((int) ts[i]);
            long prev = ts[i] - 1000 / n;
            double ap = prev >= 0 ? ns.alphaCumprod((int) prev) : ns.alphaCumprod(0);
            double sigma = Math.sqrt((1 - at) / at);
            double std = 0.7 * Math.sqrt((1 - ap) / (1 - at) * (1 - at / ap));
            for (int k = 0; k < x.length; k++) {
                double xve = x[k] / Math.sqrt(at);
                double x0 = d(xve, sigma);
                double eps = (xve - x0) / sigma;
                x[k] = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - std * std) * eps + std * steps.get(i).data()[k];
            }
        }
        assertTrue(maxDiff(out.data(), x) < 1e-4, "ddim eta 0.7 vs plain: " + maxDiff(out.data(), x));
    }

    /** |sampler - exact ODE solution| for a deterministic sampler. */
    private static double odeError(String name, int steps, SchedulerConfig cfg) {
        Sampler s = Samplers.byName(name, SamplerOptions.of(cfg));
        Latents z = noise(7);
        Denoiser model = cfg.predictionType() == PredictionType.V_PREDICTION ? DATA.vModel() : DATA.epsilonModel();
        Latents out = s.sample(model, SamplingRequest.of(steps, SHAPE, NoiseSource.supplied(z, List.of())));
        double s0;
        double start;
        double end = 0;
        double outScale = 1; // VE value = output * outScale
        NoiseSchedule ns = NoiseSchedule.fromConfig(cfg, true);
        if (s instanceof DdimSampler ddim) {
            long[] ts = ddim.timesteps(steps);
            s0 = ns.sigma((int) ts[0]);
            start = Math.sqrt(s0 * s0 + 1);
            end = ns.sigma(0); // SD: final alpha = alphas_cumprod[0]
            outScale = Math.sqrt(end * end + 1);
        } else if (s instanceof DpmSolverSampler dpm) {
            s0 = dpm.schedule(steps).sigmas()[0];
            start = Math.sqrt(s0 * s0 + 1);
        } else if (s instanceof SigmaSampler ss) {
            DiscreteSchedule sch = ss.schedule(steps);
            s0 = sch.sigmas()[0];
            start = sch.initNoiseSigma();
        } else {
            s0 = ((EdmSampler) s).sigmas(steps)[0];
            start = s0;
        }
        double worst = 0;
        for (int i = 0; i < z.numel(); i++) {
            double exact = DATA.solve(z.data()[i] * start, s0, end);
            worst = Math.max(worst, Math.abs(out.data()[i] * outScale - exact));
        }
        return worst;
    }

    /**
     * Error(64 steps) / error(8 steps) must show the method's order: about 1/8 for first-order, 1/64 for second.
     * DPM++(2M) with SD's "leading" spacing behaves first-order here: its last (first-order) step jumps from
     * sigma(t = 1000 // (n+1) + 1) to 0, and that jump dominates.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ddim:1", "euler:1", "euler-karras:1", "heun-karras:2", "dpmpp-2m:1", "dpmpp-2m-karras:2",
            "edm-euler:1", "edm-heun:2"})
    void deterministicSamplersConvergeToTheOdeSolution(String spec) {
        String name = spec.substring(0, spec.indexOf(':'));
        int order = Integer.parseInt(spec.substring(spec.indexOf(':') + 1));
        checkConvergence(name, order, SD);
    }

    private static void checkConvergence(String name, int order, SchedulerConfig cfg) {
        double coarse = odeError(name, 8, cfg);
        double fine = odeError(name, 64, cfg);
        double ratio = fine / coarse;
        System.out.printf("%-16s %s |err| 8 steps %.3g, 64 steps %.3g, ratio %.4f%n", name, cfg.predictionType(),
                coarse, fine, ratio);
        double bound = order == 1 ? 0.2 : 0.06;
        assertTrue(ratio < bound, name + ": error ratio " + ratio + " (" + coarse + " -> " + fine + ") not order " + order);
        assertTrue(fine < (order == 1 ? 0.08 : 0.005), name + ": 64-step error " + fine);
    }

    @Test
    void vPredictionModelsConvergeToo() {
        SchedulerConfig v = SD.with("prediction_type", "v_prediction");
        checkConvergence("ddim", 1, v);
        checkConvergence("euler-karras", 1, v);
        checkConvergence("dpmpp-2m-karras", 2, v);
        checkConvergence("heun-karras", 2, v);
    }
}
