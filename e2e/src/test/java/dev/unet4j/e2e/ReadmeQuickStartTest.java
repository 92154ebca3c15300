package dev.unet4j.e2e;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.GeneratedImages;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import dev.unet4j.pipeline.denoising.CachedRunModel;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's quick start, verbatim between the markers: load a diffusers folder, build a sampler and a cache
 * policy, generate with a progress callback, write a PNG. Given {@code Path model} (a diffusers UNet folder) and
 * {@code Path png} (where to write).
 */
class ReadmeQuickStartTest {
    @TempDir
    Path dir;

    @Test
    void quickStartRunsAndWritesTheDigits() throws IOException {
        Path model = Fixtures.model("digits-16");
        Path png = dir.resolve("digits.png");
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true));
        try {
            // README-BEGIN
            try (DnnlKernels kernels = new DnnlKernels();
                 UNetModel unet = UNetModel.load(model, LoadOptions.of(kernels))) {
                Sampler ddim = Samplers.byName("ddim", SamplerOptions.of(SchedulerConfig.load(model.resolve("scheduler_config.json"))));
                CachePolicy deepCache = CachePolicies.parse("deepcache:interval=3");  // = DeepCache.uniform(3, 0)
                Pipeline pipeline = Pipeline.of(unet, ddim).withRunModel(CachedRunModel.factory(deepCache));
                GenerationResult result = pipeline.generate(Generation.of(25)
                        .classes(3, 1, 4, 1).seeds(0, 1, 2, 3).guidance(1.5, 10)    // digits; 10 = the null class
                        .onStep(s -> { System.out.printf("step %d/%d%n", s.stepIndex() + 1, s.totalSteps()); return true; }));
                Latents x = result.latents();                                        // [4, 1, 16, 16] in [-1, 1]
                PngWriter.write(Image.grid(Image.batchFromSignedUnit(x.data(), x.shape()), 4).upscale(4), png);
            }
            // README-END
        } finally {
            System.setOut(stdout);
        }
        assertEquals(25, printed.toString().lines().filter(l -> l.matches("step \\d+/25")).count(), printed.toString());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(4 * 16 * 4, img.getWidth());
        assertEquals(16 * 4, img.getHeight());
        for (int cell = 0; cell < 4; cell++) {
            int lo = 255, hi = 0;
            for (int y = 0; y < 64; y++) {
                for (int x = cell * 64; x < cell * 64 + 64; x++) {
                    int v = img.getRaster().getSample(x, y, 0);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            assertTrue(lo < 40 && hi > 200, "digit " + cell + ": black background and white ink, got " + lo + ".." + hi);
        }
    }

    /** The README's prompt-to-picture snippet, verbatim between the markers, on the digits-text demo pipeline. */
    @Test
    void promptQuickStartWritesSevens() throws IOException {
        Path pipelineDir = Fixtures.model("digits-text-32");
        // README-BEGIN pipeline
        try (StableDiffusion sd = StableDiffusion.load(pipelineDir, PipelineOptions.defaults()
                .withCache(CachePolicies.parse("deepcache:interval=2")))) {           // optional, as for UNets
            GeneratedImages out = sd.generate(TextToImage.of("a handwritten seven")
                    .negativePrompt("").size(32, 32).steps(25).guidance(3).scheduler("ddim").seeds(0, 1, 2, 3)
                    .onStep(s -> s.index() < 100));                                   // false cancels; s.preview() decodes
            for (int i = 0; i < out.images().size(); i++) PngWriter.write(out.images().get(i), dir.resolve("seven-" + i + ".png"));
        }
        // README-END pipeline
        for (int i = 0; i < 4; i++) {
            BufferedImage img = ImageIO.read(dir.resolve("seven-" + i + ".png").toFile());
            assertEquals(32, img.getWidth());
            int lo = 255, hi = 0;
            for (int y = 0; y < 32; y++) {
                for (int x = 0; x < 32; x++) {
                    int v = img.getRaster().getSample(x, y, 0);
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
            assertTrue(lo < 40 && hi > 200, "seven " + i + ": dark background and light ink, got " + lo + ".." + hi);
        }
    }
}
