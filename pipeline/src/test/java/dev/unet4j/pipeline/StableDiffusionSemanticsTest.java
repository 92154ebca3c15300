package dev.unet4j.pipeline;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.SamplingCancelledException;
import dev.unet4j.samplers.guidance.TextConditioning;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * diffusers' pipeline semantics beyond the stored cases, on sd-pipeline-tiny: guidance <= 1, images per prompt from
 * one generator, per-image generators, size rules, cancellation and previews, threads, caching, load errors.
 */
class StableDiffusionSemanticsTest extends TinySdPipeline {
    static TextToImage small() {
        return TextToImage.of("a red apple").size(64, 64).steps(4).scheduler("ddim").seed(7);
    }

    /** Guidance 1 runs the conditioned UNet alone: the negative prompt plays no part, one call per step. */
    @Test
    void guidanceOneSkipsTheUnconditionalPass() {
        TextToImage r = small().guidance(1.0);
        GeneratedImages a = sd.generate(r.negativePrompt("anything"));
        GeneratedImages b = sd.generate(r.negativePrompt("something else entirely"));
        assertArrayEquals(a.latents().data(), b.latents().data());
        assertEquals(4, a.unetCalls());
        // and with guidance the negative prompt matters
        assertNotEquals(sd.generate(small().guidance(5).negativePrompt("x")).latents().data()[0],
                sd.generate(small().guidance(5).negativePrompt("y")).latents().data()[0]);
    }

    /**
     * num_images_per_prompt draws one randn([k, 4, h, w]) from the generator. torch fills float tensors block by block
     * from uniforms drawn in order, so the first image's noise is what a one-image run draws and the second image's is
     * the continuation: image 0 equals the one-image run, image 1 differs. Per-image generators give each image its
     * own one-image run.
     */
    @Test
    void imagesPerPromptAndPerImageGenerators() {
        Latents noise2 = Latents.randn(new TorchGenerator(7), 2, 4, 8, 8);
        assertArrayEquals(new TorchGenerator(7).randn(1 * 4 * 8 * 8), java.util.Arrays.copyOfRange(noise2.data(), 0, 256));
        GeneratedImages two = sd.generate(small().numImages(2).guidance(1.0));
        GeneratedImages one = sd.generate(small().guidance(1.0));
        assertEquals(2, two.images().size());
        float[] t = two.latents().data();
        assertArrayEquals(one.latents().data(), java.util.Arrays.copyOfRange(t, 0, 256), 1e-4f, "image 0 = the one-image run");
        assertNotEquals(t[0], t[256]);

        GeneratedImages perImage = sd.generate(small().guidance(1.0).seeds(7, 8));
        GeneratedImages seed8 = sd.generate(small().guidance(1.0).seed(8));
        float[] p = perImage.latents().data();
        assertArrayEquals(one.latents().data(), java.util.Arrays.copyOfRange(p, 0, 256), 1e-4f, "image 0 = seed 7 alone");
        assertArrayEquals(seed8.latents().data(), java.util.Arrays.copyOfRange(p, 256, 512), 1e-4f, "image 1 = seed 8 alone");
    }

    @Test
    void sizesMustBeMultiplesOfEight() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> small().size(60, 64));
        assertTrue(e.getMessage().contains("divisible by 8"), e.getMessage());
        GeneratedImages wide = sd.generate(small().size(64, 128).guidance(1.0));
        assertEquals(128, wide.images().get(0).width());
        assertEquals(64, wide.images().get(0).height());
        assertEquals(64, sd.defaultSize()); // sample_size 8 x VAE factor 8
    }

    @Test
    void progressCanCancelAndAskForPreviews() {
        List<Image> previews = new ArrayList<>();
        List<Integer> seen = new ArrayList<>();
        SamplingCancelledException e = assertThrows(SamplingCancelledException.class, () -> sd.generate(small().onStep(s -> {
            seen.add(s.index());
            assertEquals(4, s.total());
            if (s.index() == 1) previews.addAll(s.preview());
            return s.index() < 2;
        })));
        assertEquals(List.of(0, 1, 2), seen);
        assertEquals(1, previews.size());
        assertEquals(64, previews.get(0).width());
        assertTrue(e.getMessage().contains("after step 2"), e.getMessage());
    }

    /** One loaded pipeline, four threads, the same answers as one thread. */
    @Test
    void sharedAcrossThreads() throws Exception {
        float[] alone = sd.generate(small().guidance(3)).latents().data();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[]>> fs = new ArrayList<>();
            for (int i = 0; i < 4; i++) fs.add(pool.submit(() -> sd.generate(small().guidance(3)).latents().data()));
            for (Future<float[]> f : fs) assertArrayEquals(alone, f.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /** A feature cache plugs in as for bare UNets: fewer full UNet evaluations, an image still close to the plain one. */
    @Test
    void cachePolicyApplies() throws IOException {
        try (StableDiffusion cached = StableDiffusion.load(Fixture.pipeline(),
                PipelineOptions.defaults().withCache(CachePolicies.parse("deepcache:interval=2")))) {
            TextToImage r = small().steps(8).guidance(3);
            GeneratedImages plain = sd.generate(r);
            GeneratedImages fast = cached.generate(r);
            assertEquals(plain.unetCalls(), fast.unetCalls());
            float[] a = plain.pixels().data(), b = fast.pixels().data();
            double worst = 0;
            boolean differs = false;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]));
                differs |= a[i] != b[i];
            }
            assertTrue(differs, "the cache changed nothing: was it applied?");
            assertTrue(worst < 0.5, "cached image far from the plain one: " + worst);
        }
    }

    @Test
    void precomputedEmbeddingsNeedTheNegativeOnesForGuidance() {
        PromptEmbeddings e = sd.encodePrompt(small().guidance(1.0));
        assertEquals(null, e.negative());
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> sd.generate(small().guidance(7.5), e));
        assertTrue(x.getMessage().contains("negative"), x.getMessage());
        TextConditioning p = e.prompt();
        assertArrayEquals(new int[] {1, 77, 32}, p.shape());
    }

    /** Every problem of a broken folder in one exception. */
    @Test
    void brokenFoldersListEveryProblem(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderTiny"], "text_encoder": [null, null],
                 "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "PNDMScheduler"]}""");
        IOException e = assertThrows(IOException.class, () -> StableDiffusion.load(dir, PipelineOptions.defaults()));
        String m = e.getMessage();
        assertTrue(m.contains("no text_encoder component") && m.contains("vae is AutoencoderTiny") && m.contains("unet/ is missing")
                && m.contains("tokenizer/ is missing"), m);
        Files.writeString(dir.resolve("model_index.json"), "{\"_class_name\": \"KandinskyPipeline\"}");
        e = assertThrows(IOException.class, () -> StableDiffusion.load(dir, PipelineOptions.defaults()));
        assertTrue(e.getMessage().contains("KandinskyPipeline is not supported"), e.getMessage());
        e = assertThrows(IOException.class, () -> StableDiffusion.load(dir.resolve("nowhere"), PipelineOptions.defaults()));
        assertTrue(e.getMessage().contains("model_index.json"), e.getMessage());
    }
}
