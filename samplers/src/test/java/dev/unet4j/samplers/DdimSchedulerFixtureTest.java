package dev.unet4j.samplers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.samplers.ddim.DdimOptions;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Iterator;
import java.util.Map;

import static dev.unet4j.samplers.FixtureJson.assertAbsolute;
import static dev.unet4j.samplers.FixtureJson.assertRelative;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** DDIMScheduler configs a/b/c of schedulers.json: tables, schedules and every one-step check. */
class DdimSchedulerFixtureTest {
    private static final JsonNode ROOT = FixtureJson.schedulers();

    @ParameterizedTest
    @ValueSource(strings = {"a", "b", "c"})
    void tablesScheduleAndEveryStep(String name) {
        JsonNode c = ROOT.get("ddim").get(name);
        SchedulerConfig cfg = SchedulerConfig.parse(c.get("config").toString(), "schedulers.json ddim." + name);
        DdimSampler ddim = DdimSampler.fromConfig(cfg);
        // torch.linspace (float32, AVX2) and torch.cumprod (float64 accumulation) are re-stated exactly
        assertArrayEquals(FixtureJson.floats(c.get("betas")), ddim.schedule().betas(), name + " betas bit-exact");
        assertArrayEquals(FixtureJson.floats(c.get("alphas_cumprod")), ddim.schedule().alphasCumprod(),
                name + " alphas_cumprod bit-exact");
        assertEquals((float) c.get("final_alpha_cumprod").asDouble(), ddim.finalAlphaCumprod(), 1e-6);

        JsonNode in = ROOT.get("step_inputs");
        int[] shape = {2, 4, 2, 2};
        Latents sample = new Latents(FixtureJson.floats(in.get("sample")), shape);
        Latents modelOutput = new Latents(FixtureJson.floats(in.get("model_output")), shape);
        Latents noise = new Latents(FixtureJson.floats(in.get("variance_noise")), shape);

        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = c.get("steps").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int steps = Integer.parseInt(e.getKey());
            JsonNode s = e.getValue();
            String where = name + " steps=" + steps;
            long[] ts = ddim.timesteps(steps);
            assertArrayEquals(FixtureJson.longs(s.get("timesteps")), ts, where + " timesteps");
            long[] expectedPrev = FixtureJson.longs(s.get("prev_timesteps"));
            float[] alphasAt = new float[ts.length];
            float[] alphasPrev = new float[ts.length];
            for (int i = 0; i < ts.length; i++) {
                assertEquals(expectedPrev[i], ddim.prevTimestep(ts, i), where + " prev_timestep " + i);
                alphasAt[i] = ddim.schedule().alphaCumprod((int) ts[i]);
                alphasPrev[i] = expectedPrev[i] >= 0 ? ddim.schedule().alphaCumprod((int) expectedPrev[i])
                        : ddim.finalAlphaCumprod();
            }
            assertRelative(FixtureJson.floats(s.get("alphas_cumprod_at_timesteps")), alphasAt, 1e-6, where + " alphas at t");
            assertRelative(FixtureJson.floats(s.get("alphas_cumprod_prev")), alphasPrev, 1e-6, where + " alphas prev");

            JsonNode checks = s.get("step_checks");
            assertEquals(ts.length, checks.size(), where + ": a check for every timestep");
            for (int i = 0; i < ts.length; i++) {
                JsonNode chk = checks.get(i);
                long t = chk.get("timestep").asLong();
                long prev = chk.get("prev_timestep").asLong();
                assertEquals(ts[i], t);
                String at = where + " t=" + t;
                assertEquals(chk.get("variance").asDouble(), ddim.variance(t, prev), 1e-5, at + " variance");
                StepResult eta0 = ddim.step(modelOutput, t, prev, sample, null);
                assertAbsolute(FixtureJson.floats(chk.get("eta0").get("prev_sample")), eta0.prevSample().data(), 1e-5,
                        at + " eta0 prev_sample");
                assertAbsolute(FixtureJson.floats(chk.get("eta0").get("pred_original_sample")),
                        eta0.predOriginalSample().data(), 1e-5, at + " eta0 pred_original_sample");
                StepResult eta1 = ddim.withOptions(ddim.options().withEta(1.0)).step(modelOutput, t, prev, sample, noise);
                assertAbsolute(FixtureJson.floats(chk.get("eta1").get("prev_sample")), eta1.prevSample().data(), 1e-5,
                        at + " eta1 prev_sample");
                assertAbsolute(FixtureJson.floats(chk.get("eta1").get("pred_original_sample")),
                        eta1.predOriginalSample().data(), 1e-5, at + " eta1 pred_original_sample");
                checked++;
            }
        }
        assertEquals(1 + 10 + 25 + 50, checked);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "c"})
    void nextScheduledRuleUsesTheFollowingTimestep(String name) {
        SchedulerConfig cfg = SchedulerConfig.parse(ROOT.get("ddim").get(name).get("config").toString(), name);
        DdimSampler ddim = DdimSampler.fromConfig(cfg);
        DdimSampler next = ddim.withOptions(ddim.options().withPrevTimestepRule(DdimOptions.PrevTimestepRule.NEXT_SCHEDULED));
        long[] ts = next.timesteps(10);
        for (int i = 0; i + 1 < ts.length; i++) assertEquals(ts[i + 1], next.prevTimestep(ts, i));
        assertEquals(-1, next.prevTimestep(ts, ts.length - 1));
    }
}
