package dev.unet4j.pipeline.denoising;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.FixtureJson;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SafetensorsTestFile;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.samplers.FixtureJson.assertAbsolute;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The real UNet producing the model outputs: full DDIM trajectories of both fixtures (DDPM unguided, SD with
 * classifier-free guidance 7.5 as one batched [uncond, cond] call), every step's latents within 1e-3.
 */
class UNetTrajectoryTest {
    private interface DenoiserFactory {
        Denoiser create(UNetDenoiser net, SafetensorsTestFile trajectory);
    }

    private static void run(String fixture, DenoiserFactory factory, String initialKey, String seedKey) throws Exception {
        JsonNode meta = FixtureJson.read(fixture + "/meta.json").get("trajectory_ddim");
        SafetensorsTestFile st = SafetensorsTestFile.open(Fixtures.fixture(fixture + "/trajectory-ddim.safetensors"));
        DdimSampler ddim = DdimSampler.fromConfig(SchedulerConfig.parse(meta.get("scheduler_config").toString(), fixture));
        int steps = meta.get("num_inference_steps").asInt();
        Latents initial = st.latents(initialKey);
        Kernels kernels = new ReferenceKernels();
        try (UNetModel model = UNetModel.load(Fixtures.fixture(fixture), LoadOptions.of(kernels));
             UNetSession session = model.newSession()) {
            Denoiser denoiser = factory.create(new UNetDenoiser(session), st);
            List<Latents> latents = new ArrayList<>();
            Latents result = ddim.sample(denoiser, SamplingRequest.of(steps, initial.shape(),
                    NoiseSource.seeded(meta.get(seedKey).asLong())).withCallback(info -> latents.add(info.latents())));
            assertEquals(steps, latents.size());
            double worst = 0;
            for (int i = 0; i < steps; i++) {
                assertAbsolute(st.floats("latents." + i), latents.get(i).data(), 1e-3, fixture + " UNet latents." + i);
                worst = Math.max(worst, Closeness.maxAbsDiff(st.floats("latents." + i), latents.get(i).data()));
            }
            assertAbsolute(st.floats("final_latents"), result.data(), 1e-3, fixture + " UNet final_latents");
            System.out.printf("%s full UNet trajectory: worst step max|diff| %.3g%n", fixture, worst);
        }
    }

    @Test
    void ddpmUnconditional() throws Exception {
        run("unet2d-ddpm-tiny", (net, st) -> Guidance.unconditional(net), "initial_noise", "seed_noise");
    }

    @Test
    void stableDiffusionWithClassifierFreeGuidance() throws Exception {
        run("unet2d-cond-sd-tiny", (net, st) -> {
            TextConditioning uncond = new TextConditioning(st.floats("encoder_hidden_states_uncond"),
                    st.shape("encoder_hidden_states_uncond"));
            TextConditioning cond = new TextConditioning(st.floats("encoder_hidden_states_cond"),
                    st.shape("encoder_hidden_states_cond"));
            return Guidance.classifierFree(net, uncond, cond, 7.5, 0.0);
        }, "initial_latents", "seed_inputs");
    }
}
