package dev.unet4j.samplers;

import dev.unet4j.samplers.kdiffusion.DpmSolverSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing scheduler_config.json files as diffusers writes them, with its defaults. */
class SchedulerConfigTest {
    @Test
    void defaultsAreDiffusers() {
        SchedulerConfig c = SchedulerConfig.parse("{}");
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals("linear", c.betaSchedule());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertNull(c.trainedBetas());
        assertFalse(c.rescaleBetasZeroSnr());
    }

    @Test
    void readsADpmConfigWithPythonInfinity() {
        SchedulerConfig c = SchedulerConfig.parse("""
                {"_class_name": "DPMSolverMultistepScheduler", "_diffusers_version": "0.31.0",
                 "algorithm_type": "dpmsolver++", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "beta_start": 0.00085, "lambda_min_clipped": -Infinity, "prediction_type": "v_prediction",
                 "solver_order": 2, "timestep_spacing": "leading", "steps_offset": 1, "use_karras_sigmas": true,
                 "trained_betas": null, "variance_type": null}""");
        assertEquals("DPMSolverMultistepScheduler", c.className());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertTrue(Double.isInfinite(c.number("lambda_min_clipped", 0)));
        DpmSolverSampler.Options o = DpmSolverSampler.Options.fromConfig(c);
        assertTrue(o.useKarrasSigmas());
        assertEquals(2, o.solverOrder());
    }

    @Test
    void clearErrorsForUnsupportedOrMalformedFields() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.parse("{\"prediction_type\": \"flow\"}"));
        assertTrue(e.getMessage().contains("flow"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.parse("{\"num_train_timesteps\": \"many\"}"));
        assertTrue(e.getMessage().contains("num_train_timesteps"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Samplers.byName("ddim", SamplerOptions.of(SchedulerConfig.parse("{\"beta_schedule\": \"sigmoid\"}"))));
        assertTrue(e.getMessage().contains("sigmoid"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.parse("{\"trained_betas\": [0.1, 0.2], \"num_train_timesteps\": 3}"));
        assertTrue(e.getMessage().contains("trained_betas"), e.getMessage());
    }

    @Test
    void trainedBetasAndCosineScheduleBuildTables() {
        SchedulerConfig tb = SchedulerConfig.parse("{\"trained_betas\": [0.1, 0.2, 0.5], \"num_train_timesteps\": 3}");
        float[] ac = dev.unet4j.samplers.schedule.NoiseSchedule.fromConfig(tb, false).alphasCumprod();
        // float32 betas and alphas, float64 running product rounded per element (torch.cumprod on CPU)
        double a0 = 1.0f - 0.1f;
        double a1 = 1.0f - 0.2f;
        double a2 = 1.0f - 0.5f;
        assertEquals((float) a0, ac[0]);
        assertEquals((float) (a0 * a1), ac[1]);
        assertEquals((float) (a0 * a1 * a2), ac[2]);
        // squaredcos_cap_v2: alpha_bar(t) = cos^2((t + 0.008)/1.008 pi/2), so alphas_cumprod[t] ~ alpha_bar((t+1)/T)/alpha_bar(0)
        SchedulerConfig cos = SchedulerConfig.parse("{\"beta_schedule\": \"squaredcos_cap_v2\"}");
        float[] c = dev.unet4j.samplers.schedule.NoiseSchedule.fromConfig(cos, false).alphasCumprod();
        double f0 = Math.pow(Math.cos(0.008 / 1.008 * Math.PI / 2), 2);
        double f500 = Math.pow(Math.cos((0.501 + 0.008) / 1.008 * Math.PI / 2), 2);
        assertEquals(f500 / f0, c[500], 1e-5);
    }

    @Test
    void zeroTerminalSnrRescale() {
        SchedulerConfig c = SchedulerConfig.parse("""
                {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "rescale_betas_zero_snr": true}""");
        float[] ddim = dev.unet4j.samplers.schedule.NoiseSchedule.fromConfig(c, false).alphasCumprod();
        float[] plain = dev.unet4j.samplers.schedule.NoiseSchedule.fromConfig(c.with("rescale_betas_zero_snr", false), false)
                .alphasCumprod();
        assertEquals(0f, ddim[999], 1e-9f, "terminal SNR is zero");
        assertEquals(plain[0], ddim[0], 1e-6f, "the first alpha_bar is kept");
        // sqrt(alpha_bar) is shifted and scaled linearly: (sqrt(a) - sqrt(a_T)) * sqrt(a_0) / (sqrt(a_0) - sqrt(a_T))
        double s0 = Math.sqrt(plain[0]);
        double sT = Math.sqrt(plain[999]);
        double expected = Math.pow((Math.sqrt(plain[500]) - sT) * s0 / (s0 - sT), 2);
        assertEquals(expected, ddim[500], 1e-5);
        // the Euler/Heun/DPM family clamp the last alpha_bar to 2^-24 so that sigma_max stays finite
        float[] euler = dev.unet4j.samplers.schedule.NoiseSchedule.fromConfig(c, true).alphasCumprod();
        assertEquals(0x1p-24f, euler[999]);
    }

    @Test
    void dynamicThresholdingIsAPerItemQuantile() {
        Latents x = new Latents(new float[] {-3, -1, 0.5f, 2, 4, 1, 1, 1, 1, 1}, new int[] {2, 5, 1, 1});
        Thresholding.apply(x, 0.75, 5.0);
        // item 0: |x| sorted 0.5 1 2 3 4, rank 3 -> s = 3; item 1: s = clamp(1, min 1) = 1
        float[] expected = {-1, -1 / 3f, 0.5f / 3, 2 / 3f, 1, 1, 1, 1, 1, 1};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], x.data()[i], 1e-7f);
        Latents y = new Latents(new float[] {-3, -1, 0.5f, 2, 4}, new int[] {1, 5, 1, 1});
        Thresholding.apply(y, 0.6, 5.0); // rank 2.4 -> 2 + 0.4 (3 - 2) = 2.4
        assertEquals(-1f, y.data()[0], 1e-7f);
        assertEquals(2 / 2.4f, y.data()[3], 1e-6f);
    }
}
