package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.NonFiniteLatentsException;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No silently black image: a run whose latents become NaN or infinite stops with {@link NonFiniteLatentsException}
 * naming the first such step (the CLI exits 1 and writes nothing), and the settings certain to cause it (NaN or
 * absurd guidance, NaN churn noise, NaN initial noise) are refused before the model loads.
 */
class NonFiniteRunsTest {
    @TempDir
    Path dir;

    @Test
    void everySamplerStopsAtTheFirstStepWithNonFiniteLatents() {
        for (String name : List.of("ddim", "euler", "euler-karras", "heun-karras", "dpmpp-2m", "euler-ancestral", "edm-heun")) {
            for (int badStep : new int[]{0, 2}) {
                int[] calls = {0};
                // a stand-in network: a tame prediction, NaN in one element from step badStep on
                dev.unet4j.samplers.Denoiser d = (x, call) -> {
                    calls[0]++;
                    float[] v = new float[x.data().length];
                    for (int i = 0; i < v.length; i++) v[i] = 0.1f * x.data()[i];
                    if (call.stepIndex() >= badStep) v[3] = Float.NaN;
                    return x.withData(v);
                };
                SamplingRequest req = new SamplingRequest(5, new int[]{1, 1, 8, 8}, NoiseSource.seeded(3), null, 1.0, StepCallback.NONE);
                NonFiniteLatentsException e = assertThrows(NonFiniteLatentsException.class,
                        () -> Samplers.byName(name, SamplerOptions.of(Models.digitsScheduler())).sample(d, req), name);
                assertEquals(badStep, e.stepIndex(), name);
                assertTrue(e.getMessage().contains("at step " + badStep + " of 5") && e.getMessage().contains("1 of 64 values"),
                        name + ": " + e.getMessage());
            }
        }
    }

    @Test
    void aGenerationOnTheRealModelWithOverflowingInputsFails() {
        // initial noise of 3e38 (finite) overflows when Euler scales it by init_noise_sigma (about 14.6)
        float[] huge = new float[256];
        Arrays.fill(huge, 3e38f);
        Generation g = Generation.of(4).noise(NoiseSource.supplied(new Latents(huge, new int[]{1, 1, 16, 16}), List.of()), 1)
                .classes(3).guidance(1.5, 10);
        NonFiniteLatentsException e = assertThrows(NonFiniteLatentsException.class, () -> Models.digitsPipeline("euler").generate(g));
        assertEquals(0, e.stepIndex());
    }

    @Test
    void settingsCertainToGiveNaNAreRefusedByTheLibrary() {
        assertThrows(IllegalArgumentException.class, () -> Generation.of(4).classes(1).guidance(Double.NaN, 10));
        assertThrows(IllegalArgumentException.class, () -> Generation.of(4).classes(1).guidance(Double.POSITIVE_INFINITY, 10));
        assertThrows(IllegalArgumentException.class, () -> Generation.of(4).classes(1).guidance(-2, 10));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EulerSampler.Churn(0.5, 0, 10, Double.NaN));
        assertTrue(e.getMessage().contains("s_noise must be a finite number >= 0, got NaN"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new EulerSampler.Churn(Double.NaN, 0, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new EulerSampler.Churn(0.5, 0, Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> SamplerOptions.of(Models.digitsScheduler()).withEta(Double.NaN));
    }

    @Test
    void theCliRefusesNonFiniteSettingsAndWritesNoFileWhenARunFails() throws IOException {
        Path png = dir.resolve("x.png");
        CliRun.run("generate", "--guidance", "1e300", "--out", png).refused("--guidance must be a number in [0, 100], got 1.0E300");
        CliRun.run("generate", "--guidance", "NaN", "--out", png).refused("--guidance must be a number in [0, 100], got NaN");
        CliRun.run("generate", "--scheduler", "euler", "--s-churn", "0.5", "--s-noise", "NaN", "--out", png)
                .refused("--s-noise must be a finite number >= 0, got NaN");
        CliRun.run("generate", "--scheduler", "edm-heun", "--sigma-min", "Infinity", "--out", png)
                .refused("--sigma-min must be a finite number >= 0, got Infinity");
        CliRun.run("generate", "--scheduler", "ddim", "--eta", "-1", "--out", png).refused("--eta must be a finite number >= 0");

        // NaN in --init-noise: refused naming the file and the tensor
        Path nan = dir.resolve("nan.safetensors");
        float[] v = new float[256];
        v[17] = Float.NaN;
        new SafetensorsWriter().add("initial_latents", v, 1, 1, 16, 16).write(nan);
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 3, "--init-noise", nan, "--out", png)
                .refused("--init-noise " + nan + ": tensor 'initial_latents' has 1 NaN or infinite values (the first at flat index 17)");

        // finite but overflowing noise: the run fails at step 0, nothing written
        Path huge = dir.resolve("huge.safetensors");
        Arrays.fill(v, 3e38f);
        new SafetensorsWriter().add("initial_latents", v, 1, 1, 16, 16).write(huge);
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 3, "--init-noise", huge, "--steps", 3,
                "--scheduler", "euler", "--out", png).refused("the latents became NaN or infinite at step 0 of 3");
        assertFalse(Files.exists(png));
        try (var s = Files.list(dir)) {
            assertEquals(List.of("huge.safetensors", "nan.safetensors"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
