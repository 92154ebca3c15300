package dev.unet4j.cli;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * generate with a prompt, end to end through the command line, against diffusers' own outputs: the demo-text model's
 * sample grid and the sd-pipeline-tiny cases (text-to-image and img2img).
 */
class TextGenerateCommandTest {
    @TempDir
    Path dir;

    static {
        System.setProperty("unet4j.cache", Path.of("target", "unet4j-cache").toAbsolutePath().toString());
    }

    /** Largest per-channel difference; -1 on a size mismatch. */
    private static int maxDiff(Image a, Image b, int bx, int by, int step) {
        int worst = 0;
        for (int y = 0; y < a.height(); y++) {
            for (int x = 0; x < a.width(); x++) {
                for (int c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(a.get(x, y, c) - b.get(bx + x * step, by + y * step, c)));
            }
        }
        return worst;
    }

    /** One prompt on the bundled demo = diffusers' cell of that prompt and seed in its grid (4x upscaled there). */
    @Test
    void promptOnTheDemoEqualsDiffusersCell() throws IOException {
        Path out = dir.resolve("seven.png");
        Cli.Result r = Cli.run("generate", "--prompt", "a handwritten seven", "--seed", 3, "--out", out).assertOk();
        assertTrue(r.out().contains("32x32, ddim 25 steps, guidance 3, seed 3"), r.out());
        Image ours = PngReader.read(out);
        Image grid = PngReader.read(Fixtures.model("digits-text-32").resolve("samples-ddim25-g3.png"));
        assertEquals(32, ours.width());
        assertEquals(3, ours.channels());
        // row 7 (seven), column 3 (seed 3), 128x128 cells
        assertTrue(maxDiff(ours, grid, 3 * 128, 7 * 128, 4) <= 1, "differs from diffusers' cell");
    }

    @Test
    void severalImagesAreNumberedFiles() throws IOException {
        Path out = dir.resolve("two.png");
        Cli.run("generate", "--prompt", "a handwritten one", "--num-images", 2, "--steps", 3, "--out", out).assertOk();
        Image a = PngReader.read(dir.resolve("two-0.png"));
        Image b = PngReader.read(dir.resolve("two-1.png"));
        assertEquals(32, a.width());
        assertTrue(!a.equals(b), "the two images come from different noise");
        assertTrue(!Files.exists(out));
    }

    private static String[] tinyTxt2img(Path out, Object... extra) {
        Object[] base = {"generate", "--model", Fixtures.fixture("sd-pipeline-tiny"), "--prompt",
            "a photo of an astronaut riding a horse on mars", "--negative-prompt", "blurry, low quality", "--width", 64,
            "--height", 64, "--steps", 10, "--guidance", 7.5, "--seed", 1234, "--out", out};
        String[] s = new String[base.length + extra.length];
        for (int i = 0; i < base.length; i++) s[i] = String.valueOf(base[i]);
        for (int i = 0; i < extra.length; i++) s[base.length + i] = String.valueOf(extra[i]);
        return s;
    }

    /** A pipeline folder: DDIM, the shipped PNDM (the config's class), and img2img, each = diffusers' PNG +-1. */
    @Test
    void pipelineFolderCasesEqualDiffusersPngs() throws IOException {
        Path cases = Fixtures.fixture("sd-pipeline-tiny/cases");
        Path a = dir.resolve("a.png");
        Cli.run((Object[]) tinyTxt2img(a, "--scheduler", "ddim")).assertOk();
        assertTrue(maxDiff(PngReader.read(a), PngReader.read(cases.resolve("a_ddim/image.png")), 0, 0, 1) <= 1);
        Path b = dir.resolve("b.png");
        Cli.Result rb = Cli.run((Object[]) tinyTxt2img(b)).assertOk();
        assertTrue(rb.out().contains("pndm 10 steps"), rb.out());
        assertTrue(maxDiff(PngReader.read(b), PngReader.read(cases.resolve("b_pndm/image.png")), 0, 0, 1) <= 1);
        Path c = dir.resolve("c.png");
        Cli.run("generate", "--model", Fixtures.fixture("sd-pipeline-tiny"), "--prompt", "an oil painting of a lighthouse at dusk",
                "--negative-prompt", "photo, ugly", "--init-image", Fixtures.fixture("sd-pipeline-tiny/img2img_input.png"),
                "--strength", 0.6, "--steps", 10, "--guidance", 7.5, "--seed", 4321, "--scheduler", "ddim", "--out", c).assertOk();
        assertTrue(maxDiff(PngReader.read(c), PngReader.read(cases.resolve("c_img2img/image.png")), 0, 0, 1) <= 1);
    }

    /** .safetensors output: diffusers' output_type="np" image and the final latents. */
    @Test
    void safetensorsOutputHoldsTheFloatImage() throws IOException {
        Path out = dir.resolve("a.safetensors");
        Cli.run((Object[]) tinyTxt2img(out, "--scheduler", "ddim")).assertOk();
        try (SafetensorsFile ours = SafetensorsFile.open(out);
             SafetensorsFile ref = SafetensorsFile.open(Fixtures.fixture("sd-pipeline-tiny/cases/a_ddim/outputs.safetensors"));
             Tensor i = ours.load("image"); Tensor e = ref.load("image")) {
            float[] x = i.toFloatArray(), y = e.toFloatArray();
            assertEquals(y.length, x.length);
            double worst = 0;
            for (int k = 0; k < x.length; k++) worst = Math.max(worst, Math.abs(x[k] - y[k]));
            assertTrue(worst <= 1e-4, "image max diff " + worst);
        }
    }

    /** --mask inpaints: outside the mask the legacy blend keeps the image's own latents, so the picture changes less there. */
    @Test
    void maskInpaintsTheWhiteArea() throws IOException {
        Path tiny = Fixtures.fixture("sd-pipeline-tiny");
        byte[] px = new byte[64 * 64 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i % 251);
        Path in = dir.resolve("in.png");
        PngWriter.write(new Image(64, 64, 3, px), in);
        byte[] m = new byte[64 * 64];
        for (int y = 0; y < 64; y++) for (int x = 32; x < 64; x++) m[y * 64 + x] = (byte) 255;
        Path mask = dir.resolve("mask.png");
        PngWriter.write(new Image(64, 64, 1, m), mask);
        Path out = dir.resolve("out.png");
        Cli.run("generate", "--model", tiny, "--prompt", "a horse", "--init-image", in, "--mask", mask, "--steps", 4,
                "--scheduler", "ddim", "--out", out).assertOk();
        assertEquals(64, PngReader.read(out).width());
        Cli.run("generate", "--model", tiny, "--prompt", "a horse", "--mask", mask, "--out", out).assertError(1, "--mask needs --init-image");
    }

    /**
     * --prompt-syntax: weights of 1 give the plain run's image to the bit; a prompt past 77 tokens changes the image
     * with long (its tail is encoded) and not with truncate (diffusers cuts it).
     */
    @Test
    void promptSyntaxOption() throws IOException {
        Path tiny = Fixtures.fixture("sd-pipeline-tiny");
        String head = "a photo of an astronaut riding a horse on mars";
        String longer = head + ", " + "with stars and planets in a dark sky, ".repeat(12) + "and a red hat";
        Object[] common = {"--width", 32, "--height", 32, "--steps", 2, "--scheduler", "ddim"};
        float[] plain = image(dir.resolve("plain.safetensors"), tiny, head, common);
        assertArrayEquals(plain, image(dir.resolve("w.safetensors"), tiny, "(a photo:1.0) of an (astronaut riding:1) a horse on mars",
                common, "--prompt-syntax", "weighted"));
        float[] cut = image(dir.resolve("cut.safetensors"), tiny, longer, common);
        float[] windows = image(dir.resolve("long.safetensors"), tiny, longer, common, "--prompt-syntax", "LONG");
        assertTrue(!java.util.Arrays.equals(cut, windows), "the words after token 75 count with --prompt-syntax long");
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--prompt-syntax", "compel").assertError(1,
                "--prompt-syntax must be truncate, long or weighted, got 'compel'");
    }

    /**
     * --switch-model: switching to a copy of the pipeline's own UNet changes nothing (the switched steps run the same
     * weights through the second model's own session); the options are checked. UNetSwitchTest checks switching
     * between different UNets step by step.
     */
    @Test
    void switchModelOptions() throws IOException {
        Path tiny = Fixtures.fixture("sd-pipeline-tiny");
        Object[] common = {"--width", 32, "--height", 32, "--steps", 3, "--scheduler", "ddim"};
        float[] plain = image(dir.resolve("plain.safetensors"), tiny, "a horse", common);
        assertArrayEquals(plain, image(dir.resolve("sw.safetensors"), tiny, "a horse", common, "--switch-model", tiny.resolve("unet"),
                "--switch-at", 0.6, "--switch-order", "small-first"));
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--switch-at", 0.5).assertError(1, "--switch-at and --switch-order need --switch-model");
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--switch-model", tiny.resolve("unet")).assertError(1, "needs --switch-at");
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--switch-model", dir.resolve("nope"), "--switch-at", 0.5).assertError(1, "nope");
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--switch-model", tiny.resolve("unet"), "--switch-at", 0.5,
                "--switch-order", "big-first").assertError(1, "--switch-order must be main-first or small-first");
        Cli.run("generate", "--model", tiny, "--prompt", "x", "--switch-model", tiny.resolve("vae"), "--switch-at", 0.5)
                .assertError(1, "the switch model");
    }

    private static float[] image(Path out, Path model, String prompt, Object[] common, Object... extra) throws IOException {
        java.util.List<Object> args = new java.util.ArrayList<>(java.util.List.of("generate", "--model", model, "--prompt", prompt, "--out", out));
        args.addAll(java.util.List.of(common));
        args.addAll(java.util.List.of(extra));
        Cli.run(args.toArray()).assertOk();
        try (SafetensorsFile f = SafetensorsFile.open(out); Tensor t = f.load("image")) {
            return t.toFloatArray();
        }
    }

    @Test
    void badInputsSayWhat() throws IOException {
        Cli.run("generate", "--prompt", "a seven", "--width", 30).assertError(1, "divisible by 8");
        Cli.run("generate", "--prompt", "a seven", "--init-image", dir.resolve("missing.png")).assertError(1, "missing.png");
        Path notPng = dir.resolve("photo.png");
        Files.write(notPng, new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 1, 2, 3, 4, 5, 6});
        Cli.run("generate", "--prompt", "a seven", "--init-image", notPng).assertError(1, "not a PNG");
        Cli.run("generate", "--prompt", "a seven", "--class-label", 3).assertError(1, "--class-label applies to UNet models");
        Cli.run("generate", "--model", "demo-digits", "--prompt", "a seven").assertError(1, "need a pipeline folder");
        Cli.run("generate", "--prompt", "a seven", "--strength", 0.5).assertError(1, "--strength needs --init-image");
        Cli.run("generate", "--prompt", "a seven", "--scheduler", "plms").assertError(1, "unknown scheduler 'plms'");
        Path small = dir.resolve("small.png");
        PngWriter.write(new Image(2, 3, 3, new byte[18]), small);
        Cli.run("generate", "--prompt", "a seven", "--init-image", small).assertError(1, "smaller than one");
    }
}
