package dev.unet4j.samplers;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.samplers.FixtureJson.assertAbsolute;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Replays the stored DDIM trajectories (DDIMPipeline for the DDPM model, StableDiffusionPipeline with CFG 7.5 for
 * the SD model) with a denoiser that returns the stored model output of call i, and checks every step's latents
 * and the initial noise drawn from the seed.
 */
class DdimTrajectoryReplayTest {

    /** Returns output.{callIndex} and records what it was called with. */
    private static final class Replay implements Denoiser {
        final SafetensorsTestFile st;
        final String prefix;
        final List<ModelCall> calls = new ArrayList<>();
        final List<Latents> inputs = new ArrayList<>();

        Replay(SafetensorsTestFile st, String prefix) {
            this.st = st;
            this.prefix = prefix;
        }

        @Override
        public Latents predict(Latents x, ModelCall call) {
            calls.add(call);
            inputs.add(x.copy());
            return st.latents(prefix + call.callIndex());
        }
    }

    private static void replay(String fixture, String outputPrefix, String initialKey, String seedKey) {
        JsonNode meta = FixtureJson.read(fixture + "/meta.json").get("trajectory_ddim");
        SafetensorsTestFile st = SafetensorsTestFile.open(Fixtures.fixture(fixture + "/trajectory-ddim.safetensors"));
        DdimSampler ddim = DdimSampler.fromConfig(SchedulerConfig.parse(meta.get("scheduler_config").toString(), fixture));
        int steps = meta.get("num_inference_steps").asInt();
        assertEquals(0.0, meta.get("eta").asDouble());
        Latents initial = st.latents(initialKey);

        // the seed reproduces the initial noise exactly
        long seed = meta.get(seedKey).asLong();
        assertArrayEquals(initial.data(), new TorchGenerator(seed).randn(initial.numel()), fixture + " initial noise");

        Replay model = new Replay(st, outputPrefix);
        List<StepInfo> infos = new ArrayList<>();
        SamplingRequest req = SamplingRequest.of(steps, initial.shape(), NoiseSource.seeded(seed)).withCallback(info -> {
            infos.add(info);
            return true;
        });
        Latents result = ddim.sample(model, req);

        long[] timesteps = st.longs("timesteps");
        assertEquals(steps, model.calls.size());
        assertEquals(steps, infos.size());
        for (int i = 0; i < steps; i++) {
            ModelCall c = model.calls.get(i);
            assertEquals(i, c.stepIndex());
            assertEquals(i, c.callIndex());
            assertEquals(timesteps[i], c.timestep(), 0.0, "timestep of call " + i);
            Latents expectedInput = i == 0 ? initial : st.latents("latents." + (i - 1));
            assertAbsolute(expectedInput.data(), model.inputs.get(i).data(), 1e-3, fixture + " model input " + i);
            assertAbsolute(st.floats("latents." + i), infos.get(i).latents().data(), 1e-3, fixture + " latents." + i);
        }
        assertAbsolute(st.floats("final_latents"), result.data(), 1e-3, fixture + " final_latents");
        System.out.printf("%s: final max|diff| %.3g (max|x| %.3g)%n", fixture,
                Closeness.maxAbsDiff(st.floats("final_latents"), result.data()), result.maxAbs());
    }

    @Test
    void ddpmDdimPipeline() {
        replay("unet2d-ddpm-tiny", "model_output.", "initial_noise", "seed_noise");
    }

    @Test
    void stableDiffusionGuidedLoop() {
        replay("unet2d-cond-sd-tiny", "noise_pred.", "initial_latents", "seed_inputs");
    }
}
