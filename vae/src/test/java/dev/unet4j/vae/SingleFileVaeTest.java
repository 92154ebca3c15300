package dev.unet4j.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * sd-single-file-tiny's VAE ({@code first_stage_model.*}, F16, mid-block attention as [C, C, 1, 1] convs), read through
 * the fixture's own key map with sd-pipeline-tiny's vae config: the same model as the diffusers folder.
 */
class SingleFileVaeTest {
    @Test
    void singleFileVaeDecodesAsThePipelineFolder() throws Exception {
        Path single = Fixtures.fixture("sd-single-file-tiny"), pipe = Fixtures.fixture("sd-pipeline-tiny");
        JsonNode map = new ObjectMapper().readTree(single.resolve("keymap.json").toFile()).get("map");
        Map<String, String> toSingle = new LinkedHashMap<>();
        map.fields().forEachRemaining(e -> {
            if (e.getKey().startsWith("vae.")) toSingle.put(e.getKey().substring(4), e.getValue().asText());
        });
        Map<String, Tensor> out = VaeTesting.read(pipe.resolve("cases/a_ddim/outputs.safetensors"));
        try (WeightSource ws = WeightSource.open(List.of(single.resolve("model.safetensors")))) {
            ParameterSource file = ParameterSource.of(ws);
            ParameterSource mapped = new ParameterSource() {
                @Override
                public Tensor load(String name, long[] expectedShape) {
                    String k = toSingle.get(name);
                    return k == null ? null : file.load(k, expectedShape);
                }

                @Override
                public Set<String> names() {
                    return toSingle.keySet();
                }
            };
            try (Tensor attn = mapped.load("decoder.mid_block.attentions.0.to_q.weight", new long[0])) {
                assertEquals(4, attn.rank(), "the single file holds conv-shaped attention weights");
            }
            AutoencoderKLConfig cfg = AutoencoderKLConfig.load(pipe.resolve("vae/config.json"));
            LoadOptions o = LoadOptions.of(VaeTesting.kernels("onednn"));
            try (AutoencoderKL fromSingle = AutoencoderKL.build(cfg, mapped, "model.safetensors (first_stage_model)", o);
                 AutoencoderKL fromFolder = AutoencoderKL.load(pipe, o);
                 Tensor z = fromSingle.unscaleLatents(out.get("final_latents"));
                 Tensor a = fromSingle.decode(z); Tensor b = fromFolder.decode(z)) {
                assertEquals(fromFolder.parameterCount(), fromSingle.parameterCount());
                // the folder's F32 weights are float16-exact: same values, same result
                assertArrayEquals(b.toFloatArray(), a.toFloatArray());
                double e = VaeTesting.assertClose("vae_decoder_output", out.get("vae_decoder_output"), a, 1e-4);
                System.out.printf("single-file VAE decode vs pipeline: %.2e%n", e);
            }
        } finally {
            out.values().forEach(Tensor::close);
        }
    }
}
