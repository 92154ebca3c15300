package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.samplers.Latents;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * StableDiffusionXL[Img2Img|Inpaint]Pipeline on a tiny SDXL folder ({@link TinySdxl}) against a loop written from
 * diffusers' __call__: text-to-image, img2img with the strength cut, the add_time_ids of diffusers'
 * {@code _get_add_time_ids} (as a table here) with and without {@code requires_aesthetics_score}.
 */
class SdxlTest {
    @TempDir
    static Path dir;
    static Path pipe;
    static final float[] IDS_64 = {64, 64, 0, 0, 64, 64};

    @BeforeAll
    static void makePipeline() throws IOException {
        pipe = TinySdxl.make(dir, "StableDiffusionXLPipeline", false);
    }

    static StableDiffusion load(Path p) throws IOException {
        return StableDiffusion.load(p, PipelineOptions.defaults().withKernels(new ReferenceKernels()));
    }

    @Test
    void textToImageAsDiffusersWithAndWithoutNegativePrompt() throws IOException {
        try (StableDiffusion sd = load(pipe)) {
            assertEquals("euler", sd.samplerName(TextToImage.of("x")));
            for (String negative : new String[] {null, "blurry"}) {
                GeneratedImages out = sd.generate(TextToImage.of("a photo of a cat").negativePrompt(negative).size(64, 64)
                        .steps(4).guidance(5).seed(3));
                float[] expected = TinySdxl.reference(pipe, "a photo of a cat", negative, 4, 3, 5, null, 1, IDS_64, IDS_64);
                double e = Fixture.assertClose("SDXL latents (negative " + negative + ")", new Latents(expected, new int[] {1, 4, 8, 8}),
                        out.latents().data(), out.latents().shape(), 1e-4);
                System.out.printf("SDXL tiny, negative %s: final latents %.2e relative%n", negative, e);
            }
            PromptEmbeddings pe = sd.encodePrompt(TextToImage.of("a cat"));
            assertArrayEquals(new int[] {1, 77, 48}, pe.prompt().shape());
            assertEquals(24, pe.pooled().length);
        }
    }

    /** Long prompts on SDXL: each encoder windowed, the first window the truncated encoding, pooled from it. */
    @Test
    void longPromptWindowsPerEncoder() throws IOException {
        String longPrompt = "a red boat on a calm lake, " + "pine trees and mountains in the morning mist, ".repeat(14);
        try (StableDiffusion sd = load(pipe)) {
            PromptEmbeddings cut = sd.encodePrompt(TextToImage.of(longPrompt).guidance(4));
            PromptEmbeddings windows = sd.encodePrompt(TextToImage.of(longPrompt).guidance(4).promptSyntax(PromptSyntax.LONG));
            int n = windows.prompt().shape()[1] / 77;
            assertTrue(n >= 2, n + " windows");
            assertArrayEquals(new int[] {1, n * 77, 48}, windows.prompt().shape());
            assertArrayEquals(cut.prompt().data(), java.util.Arrays.copyOf(windows.prompt().data(), 77 * 48));
            assertArrayEquals(cut.pooled(), windows.pooled());
            // force_zeros_for_empty_prompt: zeros of the same (windowed) shape
            assertArrayEquals(new float[n * 77 * 48], windows.negative().data());
        }
    }

    /** A 64x64 test picture. */
    static Image picture() {
        byte[] px = new byte[64 * 64 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) ((i * 37) % 253);
        return new Image(64, 64, 3, px);
    }

    static float[] pixels(Image img) {
        return new VaeImageProcessor(8).preprocess(img, 0, 0).data();
    }

    /** img2img: 10 steps at strength 0.45 run int(4.5) = 4 steps from the noised image latents (diffusers' get_timesteps). */
    @Test
    void img2imgAsDiffusers() throws IOException {
        try (StableDiffusion sd = load(pipe)) {
            for (double strength : new double[] {0.45, 1.0}) {
                int[] calls = {0};
                GeneratedImages out = sd.generate(TextToImage.of("a red boat").negativePrompt("fog").steps(10).guidance(4).seed(11)
                        .initImage(picture(), strength).onStep(s -> ++calls[0] > 0));
                assertEquals(strength == 1.0 ? 10 : 4, calls[0], "steps run at strength " + strength);
                float[] expected = TinySdxl.reference(pipe, "a red boat", "fog", 10, 11, 4, pixels(picture()), strength, IDS_64, IDS_64);
                Fixture.assertClose("SDXL img2img latents, strength " + strength, new Latents(expected, new int[] {1, 4, 8, 8}),
                        out.latents().data(), out.latents().shape(), 1e-4);
            }
        }
    }

    /**
     * requires_aesthetics_score: add_time_ids {@code [h, w, 0, 0, aesthetic_score]} for the prompt and
     * {@code [h, w, 0, 0, negative_aesthetic_score]} for the negative prompt (defaults 6.0 and 2.5).
     */
    @Test
    void aestheticScoreTimeIds() throws IOException {
        Path p = TinySdxl.make(Files.createDirectories(dir.resolve("aes")), "StableDiffusionXLImg2ImgPipeline", true);
        try (StableDiffusion sd = load(p)) {
            assertTrue(sd.modelIndex().requiresAestheticsScore());
            GeneratedImages out = sd.generate(TextToImage.of("a red boat").negativePrompt("fog").steps(6).guidance(4).seed(2)
                    .initImage(picture(), 0.5));
            float[] expected = TinySdxl.reference(p, "a red boat", "fog", 6, 2, 4, pixels(picture()), 0.5,
                    new float[] {64, 64, 0, 0, 6.0f}, new float[] {64, 64, 0, 0, 2.5f});
            Fixture.assertClose("aesthetic img2img", new Latents(expected, new int[] {1, 4, 8, 8}), out.latents().data(),
                    out.latents().shape(), 1e-4);
            GeneratedImages other = sd.generate(TextToImage.of("a red boat").negativePrompt("fog").steps(6).guidance(4).seed(2)
                    .initImage(picture(), 0.5).aestheticScores(9, 1));
            float[] expected2 = TinySdxl.reference(p, "a red boat", "fog", 6, 2, 4, pixels(picture()), 0.5,
                    new float[] {64, 64, 0, 0, 9f}, new float[] {64, 64, 0, 0, 1f});
            Fixture.assertClose("aesthetic scores 9 / 1", new Latents(expected2, new int[] {1, 4, 8, 8}), other.latents().data(),
                    other.latents().shape(), 1e-4);
        }
        // a folder whose flag does not fit its UNet: diffusers' error, with the fix
        Path wrong = Files.createDirectories(dir.resolve("wrong"));
        Path q = TinySdxl.make(wrong, "StableDiffusionXLImg2ImgPipeline", false);
        Files.writeString(q.resolve("model_index.json"), Files.readString(q.resolve("model_index.json"))
                .replace("\"requires_aesthetics_score\": false", "\"requires_aesthetics_score\": true"));
        try (StableDiffusion sd = load(q)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sd.generate(TextToImage.of("x").steps(2).initImage(picture(), 0.5)));
            assertTrue(e.getMessage().contains("takes 72 inputs") && e.getMessage().contains("requires_aesthetics_score to false"),
                    e.getMessage());
        }
    }

    /**
     * Legacy (4-channel) SDXL inpainting with the shared inpainting path: an all-white mask repaints everything, so
     * the run is img2img (the masked image's latents are drawn after the noise, the blend keeps every latent); an
     * all-black mask keeps the image's latents.
     */
    @Test
    void inpaintingMasksAllAndNothing() throws IOException {
        Image white = new Image(64, 64, 1, filled(64 * 64, (byte) 255)), black = new Image(64, 64, 1, new byte[64 * 64]);
        try (StableDiffusion sd = load(pipe)) {
            TextToImage r = TextToImage.of("a red boat").negativePrompt("fog").steps(6).guidance(4).seed(5);
            float[] img2img = sd.generate(r.initImage(picture(), 0.5)).latents().data();
            assertArrayEquals(img2img, sd.generate(r.inpaint(picture(), white, 0.5)).latents().data());
            float[] kept = sd.generate(r.inpaint(picture(), black, 0.5)).latents().data();
            float[] imageLatents = sd.sampleLatents(new VaeImageProcessor(8).preprocess(picture(), 0, 0),
                    java.util.List.of(new dev.unet4j.core.random.TorchGenerator(5)), 1).data();
            assertArrayEquals(imageLatents, kept);
        }
    }

    private static byte[] filled(int n, byte v) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, v);
        return b;
    }
}
