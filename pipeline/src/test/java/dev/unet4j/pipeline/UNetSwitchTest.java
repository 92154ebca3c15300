package dev.unet4j.pipeline;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.pipeline.denoising.UNetDenoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A-SDM's multi-UNet switching on sd-pipeline-tiny with a BK-SDM-style UNet made here (no mid block, one layer per
 * block, seeded weights): the switched generation equals, step for step, a loop written here that runs the first
 * model alone for its steps (DDIM, CFG) and then the second alone from those latents.
 */
class UNetSwitchTest {
    @TempDir
    static Path dir;
    static Path small;
    static final String PROMPT = "a photo of an astronaut riding a horse on mars";
    static final String NEGATIVE = "blurry";
    static final int STEPS = 5;

    @BeforeAll
    static void makeSmallUNet() throws IOException {
        String config = Files.readString(Fixture.pipeline().resolve("unet/config.json"))
                .replaceFirst("\"mid_block_type\": \"UNetMidBlock2DCrossAttn\"", "\"mid_block_type\": null")
                .replaceFirst("\"layers_per_block\": 2", "\"layers_per_block\": 1");
        assertTrue(config.contains("\"mid_block_type\": null") && config.contains("\"layers_per_block\": 1"));
        small = SeededUNet.write(config, 21, dir.resolve("bk-sdm-tiny"));
    }

    static StableDiffusion load(UNetSwitch s) throws IOException {
        return StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults().withKernels(new ReferenceKernels()).withUNetSwitch(s));
    }

    static TextToImage request(List<Latents> steps) {
        return TextToImage.of(PROMPT).negativePrompt(NEGATIVE).size(64, 64).steps(STEPS).guidance(5).seed(3).scheduler("ddim")
                .onStep(s -> steps.add(s.latents().copy()));
    }

    /** DDIM steps {@code from} .. {@code to - 1} of one model alone, from {@code x}; the latents after each step. */
    static Latents run(Path unetDir, Latents x, int from, int to, TextConditioning both, List<Latents> out) throws IOException {
        DdimSampler ddim = DdimSampler.fromConfig(SchedulerConfig.load(Fixture.pipeline().resolve("scheduler/scheduler_config.json")));
        long[] ts = ddim.timesteps(STEPS);
        try (UNetModel m = UNetModel.load(unetDir, LoadOptions.of(new ReferenceKernels())); UNetSession s = m.newSession()) {
            UNetDenoiser unet = new UNetDenoiser(s);
            for (int i = from; i < to; i++) {
                Latents o = unet.forward(Latents.concat(x, x), new ModelCall(i, i, ts[i], 0), both);
                Latents e = Guidance.combine(o.slice(0, 1), o.slice(1, 2), 5);
                x = ddim.step(e, ts[i], ddim.prevTimestep(ts, i), x, null).prevSample();
                out.add(x);
            }
        }
        return x;
    }

    static void check(UNetSwitch.Order order, double at, int firstSteps) throws IOException {
        List<Latents> got = new ArrayList<>();
        List<Latents> want = new ArrayList<>();
        Path main = Fixture.pipeline().resolve("unet");
        try (StableDiffusion sd = load(new UNetSwitch(small, at, order))) {
            sd.generate(request(got));
            TextConditioning both = (TextConditioning) sd.promptEncoder().encode(NEGATIVE, 0).concat(sd.promptEncoder().encode(PROMPT, 0));
            Path first = order == UNetSwitch.Order.MAIN_FIRST ? main : small, second = order == UNetSwitch.Order.MAIN_FIRST ? small : main;
            Latents x = run(first, Latents.randn(new TorchGenerator(3), 1, 4, 8, 8), 0, firstSteps, both, want);
            run(second, x, firstSteps, STEPS, both, want);
        }
        assertEquals(STEPS, got.size());
        for (int i = 0; i < STEPS; i++) {
            Fixture.assertClose(order + " at " + at + ", step " + i, want.get(i), got.get(i).data(), got.get(i).shape(), 1e-5);
        }
    }

    /** 0.6 of 5 steps: the main UNet runs steps 0-2, the small one 3-4; small-first the reverse. */
    @Test
    void switchedRunEqualsEachModelAloneForItsSteps() throws IOException {
        check(UNetSwitch.Order.MAIN_FIRST, 0.6, 3);
        check(UNetSwitch.Order.SMALL_FIRST, 0.6, 3);
        assertEquals(3, new UNetSwitch(small, 0.5, UNetSwitch.Order.MAIN_FIRST).firstSteps(5), "round half up: 2.5 -> 3");
        assertEquals(0, new UNetSwitch(small, 0, UNetSwitch.Order.MAIN_FIRST).firstSteps(5));
    }

    /** The two models differ from each other: the switched run is not the main UNet's run. */
    @Test
    void switchingChangesTheResult() throws IOException {
        List<Latents> plain = new ArrayList<>(), switched = new ArrayList<>();
        try (StableDiffusion sd = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults().withKernels(new ReferenceKernels()))) {
            sd.generate(request(plain));
        }
        try (StableDiffusion sd = load(new UNetSwitch(small, 0.6, UNetSwitch.Order.MAIN_FIRST))) {
            sd.generate(request(switched));
        }
        assertTrue(java.util.Arrays.equals(plain.get(2).data(), switched.get(2).data()), "steps 0-2 run the main UNet in both");
        assertTrue(!java.util.Arrays.equals(plain.get(4).data(), switched.get(4).data()), "steps 3-4 differ");
    }

    /** A UNet of another latent space or conditioning is refused at load, every difference named with both folders. */
    @Test
    void mismatchedUNetsAreRefusedNamingBothFolders() throws IOException {
        String config = Files.readString(Fixture.pipeline().resolve("unet/config.json"))
                .replaceFirst("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 16")
                .replaceFirst("\"out_channels\": 4", "\"out_channels\": 8");
        Path other = SeededUNet.write(config, 5, dir.resolve("other"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> load(new UNetSwitch(other, 0.5, UNetSwitch.Order.MAIN_FIRST)));
        String m = e.getMessage();
        assertTrue(m.contains(other.toString()) && m.contains(Fixture.pipeline().toString()), m);
        assertTrue(m.contains("out_channels: 4 in the main UNet, 8 in the switch model"), m);
        assertTrue(m.contains("cross_attention_dim: [32] in the main UNet, [16] in the switch model"), m);
        // a feature cache plans the calls of one UNet: refused with switching, at load
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> StableDiffusion.load(Fixture.pipeline(),
                PipelineOptions.defaults().withKernels(new ReferenceKernels()).withCache(CachePolicies.parse("deepcache:interval=2"))
                        .withUNetSwitch(new UNetSwitch(small, 0.5, UNetSwitch.Order.MAIN_FIRST))));
        assertTrue(c.getMessage().contains("caching and UNet switching"), c.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new UNetSwitch(small, 1.5, UNetSwitch.Order.MAIN_FIRST));
    }
}
