package dev.unet4j.text;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Tokenizer and text encoder together against what diffusers' own StableDiffusionPipeline computed in
 * {@code sd-pipeline-tiny}: the pipeline's {@code text_encoder_input_ids} and {@code prompt_embeds} /
 * {@code negative_prompt_embeds}, from the prompts of {@code meta.json}.
 */
class PipelinePromptEmbedsTest {

    @ParameterizedTest(name = "{0} {1} on {4}")
    @CsvSource(delimiter = '|', value = {
            "a_ddim    | 0 | prompt_embeds          | a photo of an astronaut riding a horse on mars | reference",
            "a_ddim    | 1 | negative_prompt_embeds | blurry, low quality                            | reference",
            "c_img2img | 0 | prompt_embeds          | an oil painting of a lighthouse at dusk        | onednn",
            "c_img2img | 1 | negative_prompt_embeds | photo, ugly                                    | onednn",
            "a_ddim    | 0 | prompt_embeds          | a photo of an astronaut riding a horse on mars | onednn"})
    void promptToEmbedsMatchesThePipeline(String c, int index, String embeds, String prompt, String backend) throws Exception {
        Path pipe = Fixtures.fixture("sd-pipeline-tiny");
        Kernels kernels = backend.equals("reference") ? new ReferenceKernels() : new DnnlKernels();
        ClipTokenizer tokenizer = ClipTokenizer.load(pipe.resolve("tokenizer"));
        try (ClipTextModel encoder = ClipTextModel.load(pipe.resolve("text_encoder"), kernels);
             SafetensorsFile out = SafetensorsFile.open(pipe.resolve("cases").resolve(c).resolve("outputs.safetensors"))) {
            int[] ids = tokenizer.encode(prompt).inputIds();
            long[] want = out.readLongs("text_encoder_input_ids." + index);
            assertArrayEquals(want, java.util.Arrays.stream(ids).asLongStream().toArray(), "input ids");
            try (ClipTextOutput o = encoder.encode(new int[][]{ids}, null, false)) {
                EncoderFixture.assertClose(c + "/" + backend, out, embeds, o.lastHiddenState());
            }
        }
    }
}
