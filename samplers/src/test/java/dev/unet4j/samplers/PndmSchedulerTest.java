package dev.unet4j.samplers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.pndm.PndmSampler;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.samplers.FixtureJson.assertAbsolute;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PNDMScheduler (skip_prk_steps): the timesteps and the stored guided trajectory of diffusers' StableDiffusionPipeline
 * (sd-pipeline-tiny case b_pndm), and a plain reference loop written from diffusers' step_plms formulas.
 */
class PndmSchedulerTest {
    private static final String CASE = "sd-pipeline-tiny/cases/b_pndm/outputs.safetensors";

    private static SchedulerConfig shipped() {
        return SchedulerConfig.load(Fixtures.fixture("sd-pipeline-tiny/scheduler/scheduler_config.json"));
    }

    @Test
    void timestepsRepeatTheSecondOneAsDiffusers() {
        JsonNode meta = FixtureJson.read("sd-pipeline-tiny/meta.json").get("cases").get("b_pndm").get("scheduler");
        long[] expected = FixtureJson.longs(meta.get("timesteps"));
        assertEquals(11, expected.length);
        PndmSampler p = (PndmSampler) Samplers.byName(Samplers.forSchedulerClass(shipped()), SamplerOptions.of(shipped()));
        assertArrayEquals(expected, p.timesteps(10));
        // leading spacing with steps_offset 1, 4 steps: 751, 501, 501, 251, 1
        assertArrayEquals(new long[] {751, 501, 501, 251, 1}, p.timesteps(4));
    }

    /** The guided UNet outputs of the stored run, replayed: every step's latents as diffusers computed them. */
    @Test
    void replaysTheStoredGuidedTrajectory() {
        SafetensorsTestFile st = SafetensorsTestFile.open(Fixtures.fixture(CASE));
        PndmSampler p = PndmSampler.fromConfig(shipped());
        Latents initial = st.latents("initial_latents");
        assertArrayEquals(initial.data(), new TorchGenerator(1234).randn(1 * 4 * 8 * 8), "initial latents from seed 1234");
        List<ModelCall> calls = new ArrayList<>();
        List<Latents> inputs = new ArrayList<>();
        List<StepInfo> infos = new ArrayList<>();
        Denoiser replay = (x, call) -> {
            calls.add(call);
            inputs.add(x.copy());
            Latents both = st.latents("unet_output." + call.callIndex());
            return Guidance.combine(both.slice(0, 1), both.slice(1, 2), 7.5);
        };
        SamplingRequest req = SamplingRequest.of(10, new int[] {1, 4, 8, 8}, NoiseSource.seeded(1234)).withCallback(i -> {
            infos.add(i);
            return true;
        });
        Latents out = p.sample(replay, req);
        long[] ts = p.timesteps(10);
        assertEquals(11, calls.size());
        assertEquals(11, infos.size());
        for (int i = 0; i < 11; i++) {
            assertEquals(ts[i], calls.get(i).timestep(), 0.0);
            Latents in = i == 0 ? initial : st.latents("latents." + (i - 1));
            float tol = 1e-5f * Math.max(1, in.maxAbs());
            assertAbsolute(in.data(), inputs.get(i).data(), tol, "model input " + i);
            Latents expected = st.latents("latents." + i);
            assertAbsolute(expected.data(), infos.get(i).latents().data(), 1e-5 * expected.maxAbs(), "latents." + i);
        }
        assertAbsolute(st.floats("final_latents"), out.data(), 1e-5 * out.maxAbs(), "final_latents");
    }

    /**
     * Against a loop written straight from diffusers' set_timesteps / step_plms / _get_prev_sample in double, on
     * the exact Gaussian denoiser: epsilon and v-prediction, 2 to 12 steps (every warm-up branch and the 4-term one).
     */
    @Test
    void matchesAPlainReferenceLoop() {
        GaussianData data = new GaussianData(0.1, 0.6);
        for (String pred : new String[] {"epsilon", "v_prediction"}) {
            SchedulerConfig cfg = shipped().with("prediction_type", pred);
            PndmSampler p = PndmSampler.fromConfig(cfg);
            NoiseSchedule ns = NoiseSchedule.fromConfig(cfg, false);
            Denoiser model = pred.equals("epsilon") ? vpEpsilon(data, ns) : vpV(data, ns);
            for (int steps : new int[] {2, 3, 5, 12}) {
                int[] shape = {1, 2, 3, 3};
                Latents got = p.sample(model, SamplingRequest.of(steps, shape, NoiseSource.seeded(5)));
                float[] expected = reference(model, ns, steps, Latents.randn(new TorchGenerator(5), shape), pred.equals("v_prediction"));
                assertAbsolute(expected, got.data(), 2e-5, pred + " " + steps + " steps");
            }
        }
    }

    /** Written from diffusers' PNDMScheduler (skip_prk_steps, leading spacing, set_alpha_to_one false). */
    private static float[] reference(Denoiser model, NoiseSchedule ns, int n, Latents noise, boolean v) {
        int ratio = 1000 / n;
        List<Long> asc = new ArrayList<>();
        for (int i = 0; i < n; i++) asc.add((long) i * ratio + 1);
        List<Long> plms = new ArrayList<>(asc.subList(0, n - 1));
        plms.add(asc.get(n - 2));
        plms.add(asc.get(n - 1));
        java.util.Collections.reverse(plms);
        List<double[]> ets = new ArrayList<>();
        double[] x = toDouble(noise.data());
        double[] cur = null;
        int counter = 0;
        for (long t0 : plms) {
            float[] xin = new float[x.length];
            for (int i = 0; i < x.length; i++) xin[i] = (float) x[i];
            double[] m = toDouble(model.predict(new Latents(xin, noise.shape()), new ModelCall(0, 0, t0, ns.sigma((int) t0))).data());
            long prev = t0 - ratio;
            long t = t0;
            if (counter != 1) {
                while (ets.size() > 3) ets.remove(0);
                ets.add(m);
            } else {
                prev = t0;
                t = t0 + ratio;
            }
            double[] e = new double[m.length];
            double[] sample = x;
            int k = ets.size();
            for (int i = 0; i < m.length; i++) {
                if (k == 1 && counter == 0) e[i] = m[i];
                else if (k == 1) e[i] = (m[i] + ets.get(0)[i]) / 2;
                else if (k == 2) e[i] = (3 * ets.get(1)[i] - ets.get(0)[i]) / 2;
                else if (k == 3) e[i] = (23 * ets.get(2)[i] - 16 * ets.get(1)[i] + 5 * ets.get(0)[i]) / 12;
                else e[i] = (55 * ets.get(3)[i] - 59 * ets.get(2)[i] + 37 * ets.get(1)[i] - 9 * ets.get(0)[i]) / 24;
            }
            if (k == 1 && counter == 0) cur = x;
            else if (k == 1) sample = cur;
            double at = ns.alphaCumprod((int) t);
            double ap = prev >= 0 ? ns.alphaCumprod((int) prev) : ns.alphaCumprod(0);
            double[] next = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                double eps = v ? Math.sqrt(at) * e[i] + Math.sqrt(1 - at) * sample[i] : e[i];
                next[i] = Math.sqrt(ap / at) * sample[i]
                        - (ap - at) * eps / (at * Math.sqrt(1 - ap) + Math.sqrt(at * (1 - at) * ap));
            }
            x = next;
            counter++;
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) x[i];
        return out;
    }

    /** The Gaussian data's exact epsilon network in DDPM coordinates (x_t = sqrt(a) x0 + sqrt(1-a) eps). */
    private static Denoiser vpEpsilon(GaussianData d, NoiseSchedule ns) {
        return (xin, call) -> {
            double a = ns.alphaCumprod((int) call.timestep());
            double s = Math.sqrt((1 - a) / a);
            float[] in = xin.data();
            float[] out = new float[in.length];
            for (int i = 0; i < in.length; i++) {
                double xve = in[i] / Math.sqrt(a);
                out[i] = (float) ((xve - d.denoise(xve, s)) / s);
            }
            return xin.withData(out);
        };
    }

    private static Denoiser vpV(GaussianData d, NoiseSchedule ns) {
        return (xin, call) -> {
            double a = ns.alphaCumprod((int) call.timestep());
            double s = Math.sqrt((1 - a) / a);
            float[] in = xin.data();
            float[] out = new float[in.length];
            for (int i = 0; i < in.length; i++) {
                double xve = in[i] / Math.sqrt(a);
                double x0 = d.denoise(xve, s);
                double eps = (xve - x0) / s;
                out[i] = (float) (Math.sqrt(a) * eps - Math.sqrt(1 - a) * x0);
            }
            return xin.withData(out);
        };
    }

    @Test
    void img2imgStartsAtTheCutTimestepWithAFreshWarmUp() {
        PndmSampler p = PndmSampler.fromConfig(shipped());
        List<Double> seen = new ArrayList<>();
        Latents init = Latents.zeros(1, 1, 2, 2);
        p.sample((x, c) -> {
            seen.add(c.timestep());
            return Latents.zeros(x.shape());
        }, SamplingRequest.of(10, new int[] {1, 1, 2, 2}, NoiseSource.seeded(0)).withInitImage(init, 0.6));
        // int(10 * 0.6) = 6 -> t_start 4 -> plms_timesteps[4:]
        assertEquals(List.of(601.0, 501.0, 401.0, 301.0, 201.0, 101.0, 1.0), seen);
    }

    @Test
    void refusesTheRungeKuttaVariantAndSamplePrediction() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PndmSampler.fromConfig(shipped().with("skip_prk_steps", false)));
        assertTrue(e.getMessage().contains("skip_prk_steps"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PndmSampler.fromConfig(shipped().with("prediction_type", "sample")));
    }

    private static double[] toDouble(float[] f) {
        return FixtureJson.toDouble(f);
    }
}
