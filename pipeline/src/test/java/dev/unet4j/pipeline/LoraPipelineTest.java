package dev.unet4j.pipeline;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.lora.LoraAdapters;
import dev.unet4j.pipeline.lora.LoraFile;
import dev.unet4j.pipeline.lora.LoraSet;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.guidance.TextConditioning;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * lora-tiny's pipeline goldens (case a_ddim with diffusers' merged UNet and text encoder at scale 0.8): the LoRA set
 * given per generation reproduces the prompt embeddings, every step's latents, the image; the same pipeline without
 * the set still gives the plain a_ddim goldens; the single-file pipeline takes the same LoRA bit for bit.
 */
class LoraPipelineTest extends TinySdPipeline {
    static final double TOL = 1e-4;
    static final Path LORA = Fixtures.fixture("lora-tiny");
    static LoraFile lora;

    @BeforeAll
    static void load() throws IOException {
        lora = LoraFile.load(LORA.resolve("lora.safetensors"));
    }

    static Latents golden(String name) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(LORA.resolve("outputs.safetensors")); Tensor t = f.load(name)) {
            long[] s = t.shape();
            int[] shape = new int[s.length];
            for (int i = 0; i < s.length; i++) shape[i] = (int) s[i];
            return new Latents(t.toFloatArray(), shape);
        }
    }

    static double checkRun(StableDiffusion p, LoraSet set, String what) throws IOException {
        List<Latents> steps = new ArrayList<>();
        TextToImage r = StableDiffusionParityTest.txt2img("ddim").onStep(s -> {
            steps.add(s.latents().copy());
            return true;
        });
        GeneratedImages out = p.generate(r, set);
        assertEquals(10, steps.size());
        double worst = 0;
        for (int i = 0; i < 10; i++) {
            worst = Math.max(worst, Fixture.assertClose(what + " latents." + i, golden("pipeline.latents." + i), steps.get(i).data(), steps.get(i).shape(), TOL));
        }
        double fin = Fixture.assertClose(what + " final_latents", golden("pipeline.final_latents"), out.latents().data(), out.latents().shape(), TOL);
        double img = Fixture.assertClose(what + " image", golden("pipeline.image"), out.pixels().data(), out.pixels().shape(), TOL);
        System.out.printf("%s: steps max rel %.2e, final_latents %.2e, image %.2e%n", what, worst, fin, img);
        return Math.max(worst, Math.max(fin, img));
    }

    @Test
    void perGenerationLoraMatchesDiffusersMergedPipeline() throws IOException {
        LoraSet set = LoraSet.of(lora, 0.8);
        try (LoraAdapters a = sd.loraAdapters(set)) {
            TextConditioning pe = sd.promptEncoder().encode("a photo of an astronaut riding a horse on mars", 0, a.adapter(LoraFile.Component.TEXT_ENCODER));
            TextConditioning ne = sd.promptEncoder().encode("blurry, low quality", 0, a.adapter(LoraFile.Component.TEXT_ENCODER));
            double p = Fixture.assertClose("prompt_embeds", golden("pipeline.prompt_embeds"), pe.data(), pe.shape(), TOL);
            double n = Fixture.assertClose("negative_prompt_embeds", golden("pipeline.negative_prompt_embeds"), ne.data(), ne.shape(), TOL);
            System.out.printf("lora prompt_embeds %.2e, negative %.2e%n", p, n);
        }
        checkRun(sd, set, "lora a_ddim");
        // the shared pipeline is untouched: without the set it still gives the plain a_ddim goldens
        StableDiffusionParityTest.check(sd, "a_ddim", StableDiffusionParityTest.txt2img("ddim"), 10, false);
    }

    @Test
    void singleFilePipelineTakesTheSameLora() throws IOException {
        LoraSet set = LoraSet.of(lora, 0.8);
        TextToImage r = StableDiffusionParityTest.txt2img("ddim");
        try (StableDiffusion single = StableDiffusion.loadSingleFile(SingleFilePipelineTest.FILE, Fixture.pipeline(), PipelineOptions.defaults())) {
            GeneratedImages a = single.generate(r, set);
            GeneratedImages b = sd.generate(r, set);
            assertArrayEquals(b.pixels().data(), a.pixels().data(), 0f);
        }
    }

    /**
     * An int8 UNet takes the LoRA as a float side path: its distance from diffusers' merged float pipeline is the
     * int8 rounding of the base weights alone, the same as the int8 pipeline's distance without LoRA from the plain
     * float goldens (no rounding of a merged weight is added).
     */
    @Test
    void quantizedUNetTakesTheLoraWithoutRequantizing() throws IOException {
        try (StableDiffusion q = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults().withQuant(QuantSpec.parse("int8")))) {
            TextToImage r = StableDiffusionParityTest.txt2img("ddim");
            GeneratedImages withLora = q.generate(r, LoraSet.of(lora, 0.8));
            GeneratedImages plain = q.generate(r);
            Fixture fx = Fixture.of("a_ddim");
            double loraErr = rel(golden("pipeline.final_latents").data(), withLora.latents().data());
            double baseErr = rel(fx.get("final_latents").data(), plain.latents().data());
            double loraEffect = rel(golden("pipeline.final_latents").data(), fx.get("final_latents").data());
            System.out.printf("int8: with LoRA vs diffusers merged %.2e, without vs plain %.2e (LoRA effect %.2e)%n", loraErr, baseErr, loraEffect);
            assertTrue(loraErr < 3 * baseErr + 1e-4, "int8 + LoRA side path " + loraErr + " vs int8 alone " + baseErr);
            assertTrue(loraErr < loraEffect / 10, "the LoRA is applied: " + loraErr + " vs its effect " + loraEffect);
        }
    }

    static double rel(float[] want, float[] got) {
        double max = 0, err = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        return err / max;
    }

    /** Switching LoRA sets is preparing the new set's small factor layers: no model reload (measured against a load). */
    @Test
    void switchingSetsCostsNoReload() throws IOException {
        LoraSet a = LoraSet.of(lora, 0.8), b = LoraSet.of(lora, -0.3);
        long[] prep = new long[6];
        for (int i = 0; i < prep.length; i++) {
            long t0 = System.nanoTime();
            try (LoraAdapters x = sd.loraAdapters(i % 2 == 0 ? a : b)) {
                prep[i] = System.nanoTime() - t0;
            }
        }
        java.util.Arrays.sort(prep);
        long t0 = System.nanoTime();
        try (StableDiffusion again = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults())) {
            long load = System.nanoTime() - t0;
            System.out.printf("lora-tiny switch (prepare a set, median): %.2f ms; pipeline load: %.0f ms%n", prep[3] / 1e6, load / 1e6);
            assertTrue(prep[3] < load, "switch " + prep[3] + " ns vs load " + load + " ns");
        }
    }
}
