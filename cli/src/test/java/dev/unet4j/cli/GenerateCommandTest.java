package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.Latents;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** generate on the bundled demo model, end to end through the command line. */
class GenerateCommandTest {
    @TempDir
    Path dir;

    private byte[] generate(String name, Object... extra) throws IOException {
        return Cli.generate(dir.resolve(name), extra);
    }

    private static BufferedImage png(byte[] bytes) throws IOException {
        return ImageIO.read(new java.io.ByteArrayInputStream(bytes));
    }

    @Test
    void oneDigitIsAPngOfTheSampleSizeDeterministicPerSeed() throws IOException {
        byte[] a = generate("a.png", "--class-label", 3, "--seed", 5, "--steps", 4);
        byte[] again = generate("b.png", "--class-label", 3, "--seed", 5, "--steps", 4);
        byte[] other = generate("c.png", "--class-label", 3, "--seed", 6, "--steps", 4);
        BufferedImage img = png(a);
        assertEquals(16, img.getWidth());
        assertEquals(16, img.getHeight());
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, img.getType());
        assertArrayEquals(a, again, "same seed, same bytes");
        assertFalse(java.util.Arrays.equals(a, other), "another seed gives another image");

        BufferedImage up = png(generate("up.png", "--class-label", 3, "--seed", 5, "--steps", 4, "--upscale", 3));
        assertEquals(48, up.getWidth());
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 48; x++) {
                assertEquals(img.getRaster().getSample(x / 3, y / 3, 0), up.getRaster().getSample(x, y, 0), "nearest upscale at " + x + "," + y);
            }
        }
    }

    @Test
    void gridHasOneRowPerClassAndTheRequestedColumns() throws IOException {
        Cli.Result r = Cli.run("generate", "--steps", 2, "--per-class", 3, "--upscale", 2, "--out", dir.resolve("g.png"));
        r.assertOk();
        assertTrue(r.out().contains("classes 0-9 x 3"), r.out());
        BufferedImage img = ImageIO.read(dir.resolve("g.png").toFile());
        assertEquals(3 * 16 * 2, img.getWidth());
        assertEquals(10 * 16 * 2, img.getHeight());
    }

    @Test
    void initNoiseFileEqualsTheSeedItCameFrom() throws IOException {
        // diffusers semantics: initial_latents are unit noise scaled by the sampler's initial sigma, so the file
        // holding torch.randn(manual_seed(7)) must give exactly the --seed 7 image (DDIM sigma 1, Euler sigma > 1)
        Path noise = dir.resolve("noise.safetensors");
        Latents n = Latents.randn(new TorchGenerator(7), 1, 1, 16, 16);
        new SafetensorsWriter().add("initial_latents", n.data(), 1, 1, 16, 16).write(noise);
        for (String sampler : List.of("ddim", "euler")) {
            byte[] fromSeed = generate(sampler + "-seed.png", "--scheduler", sampler, "--class-label", 2, "--seed", 7, "--steps", 3);
            byte[] fromFile = generate(sampler + "-file.png", "--scheduler", sampler, "--class-label", 2, "--init-noise", noise, "--steps", 3);
            assertArrayEquals(fromSeed, fromFile, sampler);
        }
    }

    @Test
    void stepNoiseFileEqualsTheGeneratorsLaterDraws() throws IOException {
        // euler-ancestral draws the initial noise, then one tensor per step, from the same generator
        int steps = 3;
        TorchGenerator g = new TorchGenerator(11);
        Latents init = Latents.randn(g, 1, 1, 16, 16);
        SafetensorsWriter w = new SafetensorsWriter();
        for (int i = 0; i < steps; i++) w.add("noise." + i, g.randn(16 * 16), 1, 1, 16, 16);
        Path noise = dir.resolve("steps.safetensors");
        w.write(noise);
        Path initFile = dir.resolve("init.safetensors");
        new SafetensorsWriter().add("initial_latents", init.data(), 1, 1, 16, 16).write(initFile);
        byte[] seeded = generate("s.png", "--scheduler", "euler-ancestral", "--class-label", 5, "--seed", 11, "--steps", steps);
        byte[] files = generate("f.png", "--scheduler", "euler-ancestral", "--class-label", 5, "--init-noise", initFile,
                "--noise-from", noise, "--steps", steps);
        assertArrayEquals(seeded, files);
    }

    @Test
    void trajectoryHoldsEveryStepAndTheFinalLatents() throws IOException {
        Path traj = dir.resolve("t.safetensors");
        Path fin = dir.resolve("final.safetensors");
        Cli.run("generate", "--class-label", 1, "--steps", 3, "--trajectory-out", traj, "--out", fin).assertOk();
        try (SafetensorsFile t = SafetensorsFile.open(traj); SafetensorsFile f = SafetensorsFile.open(fin)) {
            assertEquals(List.of("latents.0", "latents.1", "latents.2", "final_latents"), t.names());
            assertEquals(List.of("final_latents"), f.names());
            assertArrayEquals(t.load("latents.2").toFloatArray(), t.load("final_latents").toFloatArray());
            assertArrayEquals(t.load("final_latents").toFloatArray(), f.load("final_latents").toFloatArray());
            assertArrayEquals(new long[] {1, 1, 16, 16}, f.info("final_latents").shape());
        }
    }

    @Test
    void priorNoiseInjectionReachesTheSamplerThroughTheCachePolicy() throws IOException {
        float[] plain = finalLatents("plain", "faster:every=2");
        float[] injected = finalLatents("injected", "faster:every=2,noise=0.003");
        float[] never = finalLatents("never", "faster:every=2,noise=0.003,noise-below=0");
        assertFalse(java.util.Arrays.equals(plain, injected), "x += 0.003 x_T on the steps with t < 500 changes the sample");
        assertArrayEquals(plain, never, "a threshold no timestep is below injects nothing");
    }

    @Test
    void autoCacheCalibratesBesideTheModelThenReusesIt() throws IOException {
        Path model = dir.resolve("digits-copy");
        Files.createDirectories(model);
        try (Stream<Path> files = Files.list(DemoModel.folder())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Path calibration = model.resolve("cache-calibration.json");
        float[] first = finalLatents("auto1", "auto:speedup=2", model, 8);
        assertTrue(Files.isRegularFile(calibration), "the calibration run saves its curve beside the model");
        byte[] saved = Files.readAllBytes(calibration);
        assertArrayEquals(finalLatents("full", "none", model, 8), first, "the calibration run computes in full");
        float[] second = finalLatents("auto2", "auto:speedup=2", model, 8);
        assertFalse(java.util.Arrays.equals(first, second), "calibrated: calls skipped");
        assertArrayEquals(second, finalLatents("auto3", "auto:speedup=2", model, 8), "the calibration is reused as is");
        assertArrayEquals(saved, Files.readAllBytes(calibration));
        finalLatents("auto-steps", "auto:speedup=2", model, 6);     // another step count: a second entry
        assertTrue(Files.readString(calibration).split("\"model\"").length == 3, Files.readString(calibration));
    }

    private float[] finalLatents(String name, String cache) throws IOException {
        return finalLatents(name, cache, null, 4);
    }

    private float[] finalLatents(String name, String cache, Path model, int steps) throws IOException {
        Path out = dir.resolve(name + ".safetensors");
        List<Object> args = new java.util.ArrayList<>(List.of("generate", "--scheduler", "ddim", "--class-label", 4, "--seed", 5,
                "--steps", steps, "--cache", cache, "--out", out));
        if (model != null) args.addAll(List.of("--model", model));
        Cli.run(args.toArray()).assertOk();
        try (SafetensorsFile f = SafetensorsFile.open(out); dev.unet4j.core.tensor.Tensor t = f.load("final_latents")) {
            return t.toFloatArray();
        }
    }

    @Test
    void everySamplerRuns() throws IOException {
        for (String s : dev.unet4j.samplers.Samplers.NAMES) {
            BufferedImage img = png(generate(s + ".png", "--scheduler", s, "--class-label", 0, "--steps", 2));
            assertEquals(16, img.getWidth(), s);
        }
    }

    @Test
    void aFailedRunLeavesNoOutputFile() throws IOException {
        // step noise runs out at step 1 of 3: the run fails after it started, and nothing is written
        Path noise = dir.resolve("short.safetensors");
        new SafetensorsWriter().add("noise.0", new TorchGenerator(1).randn(16 * 16), 1, 1, 16, 16).write(noise);
        Path out = dir.resolve("never.png");
        Cli.run("generate", "--scheduler", "euler-ancestral", "--class-label", 4, "--steps", 3, "--noise-from", noise, "--out", out)
                .assertError(1, "noise.1");
        assertFalse(Files.exists(out));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("short.safetensors"), s.map(p -> p.getFileName().toString()).toList(), "no temporary files left");
        }
    }

    @Test
    void quietPrintsNothingAndTheSummaryNamesTheFile() throws IOException {
        Path out = dir.resolve("q.png");
        Cli.Result loud = Cli.run("generate", "--class-label", 9, "--steps", 1, "--out", out);
        assertTrue(loud.out().startsWith("wrote " + out), loud.out());
        Cli.Result quiet = Cli.run("generate", "--class-label", 9, "--steps", 1, "--out", out, "--quiet");
        quiet.assertOk();
        assertEquals("", quiet.out());
        assertEquals("", quiet.err());
    }
}
