package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.samplers.Latents;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * diffusers' StableDiffusionPipeline / StableDiffusionImg2ImgPipeline on sd-pipeline-tiny (cases a_ddim, b_pndm,
 * c_img2img): the latents after every step, the decoded float image (<= 1e-4 relative) and the PNG (+-1 per
 * channel), from the stored prompt embeddings; the prompt encoding itself is checked in {@link PromptEncoderTest}.
 */
class StableDiffusionParityTest extends TinySdPipeline {
    static final double TOL = 1e-4;

    static TextToImage txt2img(String scheduler) {
        TextToImage r = TextToImage.of("a photo of an astronaut riding a horse on mars").negativePrompt("blurry, low quality")
                .guidance(7.5).size(64, 64).steps(10).seed(1234);
        return scheduler == null ? r : r.scheduler(scheduler);
    }

    static TextToImage img2img() throws IOException {
        return TextToImage.of("an oil painting of a lighthouse at dusk").negativePrompt("photo, ugly").guidance(7.5)
                .steps(10).seed(4321).scheduler("ddim")
                .initImage(PngReader.read(Fixture.pipeline().resolve("img2img_input.png")), 0.6);
    }

    /** Runs {@code request} from the case's stored embeddings and checks every stored step, the image and the PNG. */
    static void check(StableDiffusion p, String cas, TextToImage request, int expectedSteps) throws IOException {
        check(p, cas, request, expectedSteps, true);
    }

    static void check(StableDiffusion p, String cas, TextToImage request, int expectedSteps, boolean storedEmbeddings)
            throws IOException {
        Fixture fx = Fixture.of(cas);
        List<Latents> steps = new ArrayList<>();
        TextToImage r = request.onStep(s -> {
            steps.add(s.latents().copy());
            return true;
        });
        GeneratedImages out = storedEmbeddings
                ? p.generate(r, new PromptEmbeddings(fx.text("prompt_embeds"), fx.text("negative_prompt_embeds")))
                : p.generate(r);
        assertEquals(expectedSteps, steps.size(), cas + " steps");
        assertEquals(expectedSteps, out.unetCalls(), cas + " UNet calls");
        double worst = 0;
        for (int i = 0; i < expectedSteps; i++) {
            worst = Math.max(worst, Fixture.assertClose(cas + " latents." + i, fx.get("latents." + i), steps.get(i).data(),
                    steps.get(i).shape(), TOL));
        }
        double fin = Fixture.assertClose(cas + " final_latents", fx.get("final_latents"), out.latents().data(), out.latents().shape(), TOL);
        double img = Fixture.assertClose(cas + " image", fx.get("image"), out.pixels().data(), out.pixels().shape(), TOL);
        Image png = PngReader.read(Fixture.pipeline().resolve("cases").resolve(cas).resolve("image.png"));
        Image ours = out.images().get(0);
        int maxDiff = 0;
        for (int y = 0; y < png.height(); y++) {
            for (int x = 0; x < png.width(); x++) {
                for (int c = 0; c < 3; c++) maxDiff = Math.max(maxDiff, Math.abs(png.get(x, y, c) - ours.get(x, y, c)));
            }
        }
        assertTrue(maxDiff <= 1, cas + " PNG differs by " + maxDiff);
        System.out.printf("%s: steps max rel %.2e, final_latents %.2e, image %.2e, PNG max diff %d%n", cas, worst, fin, img, maxDiff);
    }

    @Test
    void ddim() throws IOException {
        check(sd, "a_ddim", txt2img("ddim"), 10);
    }

    @Test
    void shippedPndm() throws IOException {
        check(sd, "b_pndm", txt2img(null), 11);
    }

    @Test
    void img2imgDdim() throws IOException {
        check(sd, "c_img2img", img2img(), 6);
    }

    /** Prompt text to PNG: tokenizer and text encoder included. */
    @Test
    void fromThePromptText() throws IOException {
        check(sd, "a_ddim", txt2img("ddim"), 10, false);
        check(sd, "b_pndm", txt2img(null), 11, false);
        check(sd, "c_img2img", img2img(), 6, false);
    }

    /** The same run on the plain-Java reference kernels (the tests' second path). */
    @Test
    void ddimOnTheReferenceKernels() throws IOException {
        try (StableDiffusion ref = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults().withKernels(new ReferenceKernels()))) {
            check(ref, "a_ddim", txt2img("ddim"), 10);
        }
    }
}
