package dev.unet4j.samplers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.samplers.edm.EdmOptions;
import dev.unet4j.samplers.edm.EdmSampler;
import dev.unet4j.samplers.edm.Preconditioning;
import dev.unet4j.samplers.kdiffusion.DiscreteSchedule;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.kdiffusion.HeunSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;

import static dev.unet4j.samplers.FixtureJson.assertRelative;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Euler/Heun Karras and EDMEuler schedules of schedulers.json ("karras" section). */
class SigmaScheduleFixtureTest {
    private static final JsonNode KARRAS = FixtureJson.schedulers().get("karras");

    private static SchedulerConfig config(String name) {
        return SchedulerConfig.parse(KARRAS.get(name).get("config").toString(), "schedulers.json karras." + name);
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 25})
    void eulerKarras(int steps) {
        JsonNode e = KARRAS.get("euler_karras").get(Integer.toString(steps));
        assertEquals("float32", e.get("timesteps_dtype").asText());
        DiscreteSchedule s = EulerSampler.fromConfig(config("euler_karras")).schedule(steps);
        check(e, s, "euler_karras " + steps);
        for (double t : s.timesteps()) assertEquals((float) t, t, 0.0, "Euler timesteps are float32 values");
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 25})
    void heunKarras(int steps) {
        JsonNode e = KARRAS.get("heun_karras").get(Integer.toString(steps));
        DiscreteSchedule s = HeunSampler.fromConfig(config("heun_karras")).schedule(steps);
        assertEquals(2 * steps - 1, s.length(), "repeat_interleave layout");
        check(e, s, "heun_karras " + steps);
    }

    @ParameterizedTest
    @ValueSource(ints = {10, 25})
    void edmEulerDefaults(int steps) {
        JsonNode e = KARRAS.get("edm_euler_defaults").get(Integer.toString(steps));
        SchedulerConfig cfg = config("edm_euler_defaults");
        EdmOptions o = EdmOptions.defaults(false).withSigmaRange(cfg.number("sigma_min", 0), cfg.number("sigma_max", 0),
                cfg.number("rho", 0));
        Preconditioning p = Preconditioning.edm(cfg.number("sigma_data", 0), cfg.predictionType());
        // diffusers computes the schedule in float32 (1e-6 exact); generate.py's float64 schedule differs from it by
        // the float32 rounding, amplified by rho = 7 at small sigma (about 1e-6 relative)
        for (boolean f32 : new boolean[] {true, false}) {
            double[] sig = new EdmSampler(p, o.withFloat32Schedule(f32)).sigmas(steps);
            double[] body = Arrays.copyOf(sig, steps);
            assertEquals(0.0, sig[steps]);
            assertRelative(FixtureJson.doubles(e.get("sigmas")), sig, f32 ? 1e-6 : 3e-6, "edm sigmas f32=" + f32);
            double[] ts = new double[steps];
            for (int i = 0; i < steps; i++) ts[i] = p.timestep(body[i]);
            // 0.25 ln(sigma) crosses 0 near sigma = 1: compare to 1e-6 of the largest timestep
            double[] expected = FixtureJson.doubles(e.get("timesteps"));
            for (int i = 0; i < steps; i++) {
                assertEquals(expected[i], ts[i], 1e-6 * Math.abs(expected[0]), "edm timestep " + i + " f32=" + f32);
            }
        }
        assertEquals(e.get("init_noise_sigma").asDouble(), o.diffusersInitNoiseSigma(), 1e-6 * 80);
    }

    private static void check(JsonNode e, DiscreteSchedule s, String what) {
        double[] sig = FixtureJson.toDouble(s.sigmas());
        assertRelative(FixtureJson.doubles(e.get("sigmas")), sig, 1e-6, what + " sigmas");
        assertRelative(FixtureJson.doubles(e.get("timesteps")), s.timesteps(), 1e-6, what + " timesteps");
        assertEquals(e.get("init_noise_sigma").asDouble(), s.initNoiseSigma(), 1e-6 * s.initNoiseSigma(), what + " init_noise_sigma");
    }
}
