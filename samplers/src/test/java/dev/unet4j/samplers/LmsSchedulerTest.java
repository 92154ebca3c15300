package dev.unet4j.samplers;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.kdiffusion.DiscreteSchedule;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.kdiffusion.LmsSampler;
import dev.unet4j.samplers.kdiffusion.SigmaOptions;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.samplers.FixtureJson.assertAbsolute;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * LMSDiscreteScheduler: its schedule (SD's well-known sigma_max), coefficients against numeric quadrature, order 1
 * = Euler, and a plain reference loop written from diffusers' step() with Simpson-rule coefficients (as diffusers
 * integrates numerically with scipy's quad).
 */
class LmsSchedulerTest {
    private static final SchedulerConfig SD = SchedulerConfig.parse("""
            {"_class_name": "LMSDiscreteScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
             "beta_end": 0.012, "num_train_timesteps": 1000}""");

    @Test
    void scheduleIsLinspaceWithSdSigmaMax() {
        LmsSampler lms = (LmsSampler) Samplers.byName(Samplers.forSchedulerClass(SD), SamplerOptions.of(SD));
        DiscreteSchedule s = lms.schedule(10);
        assertEquals(999.0, s.timesteps()[0], 0.0);
        assertEquals(0.0, s.timesteps()[9], 0.0);
        assertEquals(888.0, s.timesteps()[1], 0.0);
        // SD 1.x's sigma at t = 999 (k-diffusion / A1111 report 14.6146)
        assertEquals(14.6146, s.sigmas()[0], 1e-4);
        assertEquals(0.0f, s.sigmas()[10]);
        assertEquals(s.sigmas()[0], s.initNoiseSigma(), 0.0);
    }

    @Test
    void coefficientsAreTheIntegralsOfTheLagrangeBasis() {
        float[] sig = {14.6f, 9.7f, 6.3f, 4.0f, 2.1f, 0.9f, 0.0f};
        for (int t = 0; t < 6; t++) {
            int order = Math.min(t + 1, 4);
            for (int j = 0; j < order; j++) {
                double expected = simpson(sig, order, t, j);
                assertEquals(expected, LmsSampler.coefficient(sig, order, t, j), 1e-9 * Math.max(1, Math.abs(expected)),
                        "t " + t + " j " + j);
            }
        }
    }

    @Test
    void orderOneIsEuler() {
        GaussianData data = new GaussianData(0.1, 0.6);
        NoiseSchedule ns = NoiseSchedule.fromConfig(SD, true);
        SigmaOptions o = SigmaOptions.fromConfig(SD);
        int[] shape = {1, 2, 4, 4};
        Latents lms = new LmsSampler(ns, o, 1).sample(data.epsilonModel(), SamplingRequest.of(8, shape, NoiseSource.seeded(2)));
        Latents euler = new EulerSampler(ns, o, EulerSampler.Churn.NONE).sample(data.epsilonModel(),
                SamplingRequest.of(8, shape, NoiseSource.seeded(2)));
        assertAbsolute(euler.data(), lms.data(), 1e-6, "LMS order 1 vs Euler");
    }

    @Test
    void matchesAPlainReferenceLoop() {
        GaussianData data = new GaussianData(0.1, 0.6);
        for (boolean karras : new boolean[] {false, true}) {
            LmsSampler lms = (LmsSampler) Samplers.byName(karras ? "lms-karras" : "lms", SamplerOptions.of(SD));
            for (int steps : new int[] {1, 3, 6, 15}) {
                int[] shape = {1, 2, 3, 3};
                Latents got = lms.sample(data.epsilonModel(), SamplingRequest.of(steps, shape, NoiseSource.seeded(9)));
                DiscreteSchedule s = lms.schedule(steps);
                float[] expected = reference(data, s, Latents.randn(new TorchGenerator(9), shape).data());
                assertAbsolute(expected, got.data(), 1e-4, "karras " + karras + ", " + steps + " steps");
                // and the ODE it integrates: the exact solution from sigma_max to 0
                if (steps == 15) {
                    float[] z = Latents.randn(new TorchGenerator(9), shape).data();
                    for (int i = 0; i < z.length; i++) {
                        double exact = data.solve(z[i] * s.initNoiseSigma(), s.sigmas()[0], 0);
                        assertEquals(exact, got.data()[i], 2e-2, "ODE solution at " + i);
                    }
                }
            }
        }
    }

    /** diffusers' LMSDiscreteScheduler.step, order 4, x0 = x - sigma eps, derivatives from the scaled input. */
    private static float[] reference(GaussianData data, DiscreteSchedule s, float[] noise) {
        float[] sig = s.sigmas();
        double[] x = new double[noise.length];
        for (int i = 0; i < x.length; i++) x[i] = noise[i] * (double) s.initNoiseSigma();
        List<double[]> ders = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            double sigma = sig[i];
            double[] d = new double[x.length];
            for (int k = 0; k < x.length; k++) d[k] = (x[k] - data.denoise(x[k], sigma)) / sigma;
            ders.add(d);
            if (ders.size() > 4) ders.remove(0);
            int order = Math.min(i + 1, 4);
            for (int j = 0; j < order; j++) {
                double c = simpson(sig, order, i, j);
                double[] dj = ders.get(ders.size() - 1 - j);
                for (int k = 0; k < x.length; k++) x[k] += c * dj[k];
            }
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) x[i];
        return out;
    }

    /** Composite Simpson integration of the Lagrange basis polynomial (exact for these cubic integrands). */
    private static double simpson(float[] sig, int order, int t, int j) {
        double a = sig[t];
        double b = sig[t + 1];
        int n = 64;
        double h = (b - a) / n;
        double sum = 0;
        for (int i = 0; i <= n; i++) {
            double tau = a + i * h;
            double prod = 1;
            for (int k = 0; k < order; k++) {
                if (k == j) continue;
                prod *= (tau - sig[t - k]) / ((double) sig[t - j] - sig[t - k]);
            }
            sum += prod * (i == 0 || i == n ? 1 : (i % 2 == 1 ? 4 : 2));
        }
        return sum * h / 3;
    }
}
