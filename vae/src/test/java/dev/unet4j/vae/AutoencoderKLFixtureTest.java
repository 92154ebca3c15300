package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** vae-tiny (diffusers 0.31 AutoencoderKL): decoded image, posterior and every stored block activation, both backends. */
class AutoencoderKLFixtureTest {
    static final double TOL = 1e-4;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"reference", "onednn"})
    void decodeEncodeAndEveryStoredActivationMatchDiffusers(String backend) throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        Map<String, Tensor> in = VaeTesting.read(dir.resolve("inputs.safetensors"));
        Map<String, Tensor> ref = VaeTesting.read(dir.resolve("outputs.safetensors"));
        Map<String, Tensor> got = new HashMap<>();
        try (AutoencoderKL vae = AutoencoderKL.load(dir, VaeTesting.kernels(backend))) {
            assertEquals(0.18215, vae.config().scalingFactor(), 0);
            assertEquals(2, vae.scaleFactor());
            Set<String> decodeNodes = stripped(ref, "decode."), encodeNodes = stripped(ref, "encode.");
            Map<String, Tensor> dc = new HashMap<>(), ec = new HashMap<>();
            got.put("decoded", vae.decode(in.get("latents"), decodeNodes, dc));
            dc.forEach((k, v) -> got.put("decode." + k, v));
            try (LatentDistribution d = vae.encode(in.get("image"), encodeNodes, ec)) {
                got.put("latent_mean", d.mode());
                got.put("latent_logvar", d.logvar().copy(dev.unet4j.core.tensor.Allocator.direct()));
            }
            ec.forEach((k, v) -> got.put("encode." + k, v));
            StringBuilder report = new StringBuilder(backend + ":");
            for (String name : ref.keySet()) {
                assertNotNull(got.get(name), "nothing computed for " + name);
                double e = VaeTesting.assertClose(backend + " " + name, ref.get(name), got.get(name), TOL);
                report.append(String.format("%n  %-40s %.2e", name, e));
            }
            System.out.println(report);
        } finally {
            in.values().forEach(Tensor::close);
            ref.values().forEach(Tensor::close);
            got.values().forEach(Tensor::close);
        }
    }

    /** Every GroupNorm (groups, channels, eps) and both attentions (heads, head dim, scale) as meta.json lists them. */
    @org.junit.jupiter.api.Test
    void normAndAttentionModulesMatchMeta() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        com.fasterxml.jackson.databind.JsonNode meta = new com.fasterxml.jackson.databind.ObjectMapper().readTree(dir.resolve("meta.json").toFile());
        try (AutoencoderKL vae = AutoencoderKL.load(dir, VaeTesting.kernels("reference"))) {
            Map<String, dev.unet4j.unet.NormInfo> norms = vae.normModules().stream()
                    .collect(Collectors.toMap(dev.unet4j.unet.NormInfo::path, n -> n));
            com.fasterxml.jackson.databind.JsonNode expected = meta.get("norm_modules");
            assertEquals(expected.size(), norms.size(), "number of norms");
            expected.fields().forEachRemaining(e -> {
                dev.unet4j.unet.NormInfo n = norms.get(e.getKey());
                assertNotNull(n, "no norm " + e.getKey());
                assertEquals(e.getValue().get("num_groups").asInt(), n.groups(), e.getKey());
                assertEquals(e.getValue().get("num_channels").asInt(), n.channels(), e.getKey());
                assertEquals(e.getValue().get("eps").asDouble(), n.eps(), 0, e.getKey());
            });
            Map<String, dev.unet4j.unet.AttentionInfo> attn = vae.attentionModules().stream()
                    .collect(Collectors.toMap(dev.unet4j.unet.AttentionInfo::path, a -> a));
            com.fasterxml.jackson.databind.JsonNode ea = meta.get("attention_modules");
            assertEquals(ea.size(), attn.size(), "number of attentions");
            ea.fields().forEachRemaining(e -> {
                dev.unet4j.unet.AttentionInfo a = attn.get(e.getKey());
                assertNotNull(a, "no attention " + e.getKey());
                assertEquals(e.getValue().get("heads").asInt(), a.heads(), e.getKey());
                assertEquals(e.getValue().get("dim_head").asInt(), a.headDim(), e.getKey());
                assertEquals(e.getValue().get("scale").asDouble(), a.scale(), 1e-12, e.getKey());
                assertEquals(e.getValue().get("rescale_output_factor").asDouble(), a.rescaleOutputFactor(), 0, e.getKey());
                assertEquals(e.getValue().get("residual_connection").asBoolean(), a.residualConnection(), e.getKey());
                assertEquals(e.getValue().get("group_norm").get("num_groups").asInt(), a.groupNormGroups(), e.getKey());
            });
        }
    }

    /** Stored names under {@code prefix}, as node paths. */
    private static Set<String> stripped(Map<String, Tensor> ref, String prefix) {
        return ref.keySet().stream().filter(n -> n.startsWith(prefix)).map(n -> n.substring(prefix.length())).collect(Collectors.toSet());
    }
}
