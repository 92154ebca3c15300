package dev.unet4j.e2e;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pipeline.generate against the stored diffusers trajectories: DDIMPipeline on the DDPM model from seed 1004, and
 * StableDiffusionPipeline's loop with CFG 7.5 ([uncond, cond] in one batch) on the SD model. Every step's latents
 * within 1e-3 (x (1 + max|x|) for the SD run, whose latents grow to 64).
 */
class PipelineTrajectoryTest {

    private static float[] read(SafetensorsFile f, String name) throws IOException {
        try (Tensor t = f.load(name)) {
            return t.toFloatArray();
        }
    }

    private static int[] shape(SafetensorsFile f, String name) throws IOException {
        long[] s = f.info(name).shape();
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) r[i] = (int) s[i];
        return r;
    }

    private static SchedulerConfig scheduler(Path fixture) throws IOException {
        String meta = Files.readString(fixture.resolve("meta.json"));
        com.fasterxml.jackson.databind.JsonNode cfg = new com.fasterxml.jackson.databind.ObjectMapper().readTree(meta)
                .get("trajectory_ddim").get("scheduler_config");
        return SchedulerConfig.parse(cfg.toString(), fixture + "/meta.json");
    }

    private static void assertTrajectory(SafetensorsFile ref, List<Latents> steps, Latents last, boolean relative) throws IOException {
        assertEquals(10, steps.size());
        for (int i = 0; i < 10; i++) {
            float[] r = read(ref, "latents." + i);
            float[] g = steps.get(i).data();
            double m = 0;
            for (float v : r) m = Math.max(m, Math.abs(v));
            double tol = 1e-3 * (relative ? 1 + m : 1);
            for (int k = 0; k < r.length; k++) {
                assertTrue(Math.abs(r[k] - g[k]) <= tol, "step " + i + " [" + k + "]: " + g[k] + " vs " + r[k]);
            }
        }
        float[] fin = read(ref, "final_latents");
        for (int k = 0; k < fin.length; k++) assertEquals(steps.get(9).data()[k], last.data()[k], "final = last step");
        assertEquals(fin.length, last.numel());
    }

    @Test
    void ddpmUnconditionalFromTheSeed() throws IOException {
        Path fx = Fixtures.fixture("unet2d-ddpm-tiny");
        try (DnnlKernels k = new DnnlKernels(); UNetModel unet = UNetModel.load(fx, LoadOptions.of(k));
             SafetensorsFile ref = SafetensorsFile.open(fx.resolve("trajectory-ddim.safetensors"))) {
            Pipeline p = Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(scheduler(fx))));
            List<Latents> steps = new ArrayList<>();
            GenerationResult r = p.generate(Generation.of(10).seeds(1004).onStep(s -> steps.add(s.latents().copy())));
            assertTrajectory(ref, steps, r.latents(), false);
            assertEquals(10, r.unetCalls());
            assertEquals(1.0, r.computedFraction(), 1e-12);
        }
    }

    @Test
    void planListsEveryUNetCallBeforeTheRun() throws IOException {
        Path fx = Fixtures.fixture("unet2d-ddpm-tiny");
        try (DnnlKernels k = new DnnlKernels(); UNetModel unet = UNetModel.load(fx, LoadOptions.of(k))) {
            SchedulerConfig cfg = scheduler(fx);
            int[] shape = {1, 3, 16, 16};
            // the fixture's DDIMPipeline timesteps for 10 steps
            assertArrayEquals(new double[] {900, 800, 700, 600, 500, 400, 300, 200, 100, 0},
                    Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(cfg))).plan(10, shape).callTimesteps());
            // Heun evaluates twice per step except the last (diffusers' repeat_interleave of the sigmas)
            assertEquals(9, Pipeline.of(unet, Samplers.byName("heun-karras", SamplerOptions.of(cfg))).plan(5, shape).totalCalls());
            assertEquals(5, Pipeline.of(unet, Samplers.byName("dpmpp-2m", SamplerOptions.of(cfg))).plan(5, shape).totalCalls());
        }
    }

    @Test
    void sdWithClassifierFreeGuidance() throws IOException {
        Path fx = Fixtures.fixture("unet2d-cond-sd-tiny");
        try (DnnlKernels k = new DnnlKernels(); UNetModel unet = UNetModel.load(fx, LoadOptions.of(k));
             SafetensorsFile ref = SafetensorsFile.open(fx.resolve("trajectory-ddim.safetensors"))) {
            Pipeline p = Pipeline.of(unet, Samplers.byName("ddim", SamplerOptions.of(scheduler(fx))));
            Latents init = new Latents(read(ref, "initial_latents"), shape(ref, "initial_latents"));
            TextConditioning cond = new TextConditioning(read(ref, "encoder_hidden_states_cond"), shape(ref, "encoder_hidden_states_cond"));
            TextConditioning uncond = new TextConditioning(read(ref, "encoder_hidden_states_uncond"), shape(ref, "encoder_hidden_states_uncond"));
            List<Latents> steps = new ArrayList<>();
            GenerationResult r = p.generate(Generation.of(10).size(16, 16).noise(NoiseSource.supplied(init, List.of()), 1)
                    .conditioning(cond).guidance(7.5, uncond).onStep(s -> steps.add(s.latents().copy())));
            assertTrajectory(ref, steps, r.latents(), true);
        }
    }
}
