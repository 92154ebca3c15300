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
}
