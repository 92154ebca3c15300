package dev.unet4j.pipeline;

import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.checkpoint.LdmModelType;
import dev.unet4j.pipeline.checkpoint.SingleFileComponents;
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
 * sd-single-file-tiny through the whole pipeline: with sd-pipeline-tiny as the config folder it matches diffusers'
 * goldens of case a_ddim (from the prompt text) and gives bit for bit the folder-loaded pipeline's images.
 */
class SingleFilePipelineTest {
    static final Path FILE = Fixtures.fixture("sd-single-file-tiny").resolve("model.safetensors");

    @Test
    void singleFileMatchesTheGoldensAndTheFolder() throws IOException {
        try (StableDiffusion single = StableDiffusion.loadSingleFile(FILE, Fixture.pipeline(), PipelineOptions.defaults());
             StableDiffusion folder = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults())) {
            StableDiffusionParityTest.check(single, "a_ddim", StableDiffusionParityTest.txt2img("ddim"), 10, false);
            TextToImage r = StableDiffusionParityTest.txt2img(null);
            GeneratedImages a = single.generate(r);
            GeneratedImages b = folder.generate(r);
            assertArrayEquals(b.latents().data(), a.latents().data(), 0f, "final latents equal to the folder's");
            assertArrayEquals(b.pixels().data(), a.pixels().data(), 0f, "image equal to the folder's");
            assertEquals(folder.defaultSize(), single.defaultSize());
        }
    }

    @Test
    void withoutAConfigFolderTheTinyFileFailsWithEveryProblemListed() {
        ModelException e = assertThrows(ModelException.class, () -> StableDiffusion.load(FILE, PipelineOptions.defaults()));
        String m = e.getMessage();
        System.out.println(m.lines().map(l -> l.length() > 300 ? l.substring(0, 300) + "..." : l).reduce((x, y) -> x + "\n" + y).orElse(""));
        // the built-in v1 (SD 1.5) sizes do not fit the tiny weights: every component is listed in the one message
        assertTrue(m.contains("(v1) cannot be loaded") && m.contains("tokenizer: a single file holds none")
                && m.contains("text encoder (sizes from the built-in v1 config") && m.contains("UNet (sizes from the built-in v1 config")
                && m.contains("VAE (sizes from the built-in v1 config"), m);
    }

    @Test
    void foreignAndMissingKeysAreListedInOneError(@TempDir Path dir) throws IOException {
        Path broken = dir.resolve("broken.safetensors");
        var w = new dev.unet4j.core.io.SafetensorsWriter();
        try (var f = dev.unet4j.core.io.SafetensorsFile.open(FILE)) {
            for (String n : f.names()) {
                if (n.equals("model.diffusion_model.out.2.bias") || n.equals("first_stage_model.quant_conv.weight")) continue;
                try (var t = f.load(n)) {
                    w.add(n, t.toFloatArray(), t.shape());
                }
            }
        }
        w.add("model_ema.decay", new float[] {0.9999f}).add("alphas_cumprod", new float[4], 4)
                .add("cond_stage_model.transformer.text_model.embeddings.position_ids", new float[77], 1, 77)
                .add("control_model.zero_convs.0.weight", new float[4], 4)
                .add("model.diffusion_model.input_blocks.99.0.in_layers.0.weight", new float[4], 4);
        w.write(broken);
        ModelException e = assertThrows(ModelException.class,
                () -> StableDiffusion.loadSingleFile(broken, Fixture.pipeline(), PipelineOptions.defaults()));
        String m = e.getMessage();
        assertTrue(m.contains("control_model.zero_convs.0.weight") && m.contains("conv_out.bias")
                && m.contains("quant_conv.weight") && m.contains("input_blocks.99.0.in_layers.0.weight"), m);
        assertTrue(!m.contains("model_ema.decay") && !m.contains("alphas_cumprod") && !m.contains("position_ids"),
                "known extras are ignored, not reported: " + m);
    }

    @Test
    void configFolderOverridesTheBuiltInConfigs() throws IOException {
        // the component configs of the folder override the built-in v1 (SD 1.5) sizes
        try (SingleFileComponents c = SingleFileComponents.load(FILE, Fixture.pipeline(), new dev.unet4j.core.kernels.ReferenceKernels(), null)) {
            assertEquals(LdmModelType.V1, c.type());
            assertEquals(32, c.textEncoder().config().hiddenSize());
        }
        assertTrue(Files.isRegularFile(FILE));
    }
}
