package dev.unet4j.unet;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.checkpoint.ModelLocator;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.WeightMismatchException.Problem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightLoadingTest {
    private final ReferenceKernels ref = new ReferenceKernels();

    /** Every norm's groups/eps/channels and every attention's heads/dim/scale against meta.json. */
    @ParameterizedTest
    @ValueSource(strings = {Fixture.DDPM, Fixture.SD})
    void builtModulesMatchMetaTables(String fixture) throws Exception {
        try (Fixture f = new Fixture(fixture); UNetModel m = f.load(ref)) {
            JsonNode norms = f.meta.get("norm_modules");
            Map<String, NormInfo> built = new HashMap<>();
            for (NormInfo n : m.normModules()) built.put(n.path(), n);
            assertEquals(norms.size(), built.size(), "number of norm modules");
            for (Iterator<Map.Entry<String, JsonNode>> it = norms.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                NormInfo n = built.get(e.getKey());
                JsonNode want = e.getValue();
                assertTrue(n != null, "no norm built at " + e.getKey());
                assertEquals(want.get("type").asText(), n.type(), e.getKey());
                assertEquals(want.get("eps").asDouble(), n.eps(), 0.0, e.getKey() + " eps");
                if (n.type().equals("GroupNorm")) {
                    assertEquals(want.get("num_groups").asInt(), n.groups(), e.getKey() + " groups");
                    assertEquals(want.get("num_channels").asInt(), n.channels(), e.getKey() + " channels");
                } else {
                    assertEquals(want.get("shape").get(0).asInt(), n.channels(), e.getKey() + " shape");
                }
            }
            JsonNode attns = f.meta.get("attention_modules");
            Map<String, AttentionInfo> builtA = new HashMap<>();
            for (AttentionInfo a : m.attentionModules()) builtA.put(a.path(), a);
            assertEquals(attns.size(), builtA.size(), "number of attention modules");
            for (Iterator<Map.Entry<String, JsonNode>> it = attns.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                AttentionInfo a = builtA.get(e.getKey());
                JsonNode w = e.getValue();
                String k = e.getKey();
                assertTrue(a != null, "no attention built at " + k);
                assertEquals(w.get("heads").asInt(), a.heads(), k + " heads");
                assertEquals(w.get("dim_head").asInt(), a.headDim(), k + " dim_head");
                assertEquals(w.get("scale").asDouble(), a.scale(), 1e-15, k + " scale");
                assertEquals(w.get("query_dim").asInt(), a.queryDim(), k + " query_dim");
                assertEquals(w.get("kv_in_features").asInt(), a.kvInFeatures(), k + " kv_in_features");
                assertEquals(w.get("is_cross_attention").asBoolean(), a.crossAttention(), k + " cross");
                assertEquals(w.get("qkv_bias").asBoolean(), a.qkvBias(), k + " qkv_bias");
                assertEquals(w.get("residual_connection").asBoolean(), a.residualConnection(), k + " residual");
                assertEquals(w.get("rescale_output_factor").asDouble(), a.rescaleOutputFactor(), 0.0, k + " rescale");
                JsonNode gn = w.get("group_norm");
                assertEquals(gn == null || gn.isNull() ? 0 : gn.get("num_groups").asInt(), a.groupNormGroups(), k + " group_norm");
            }
        }
    }

    /** The fixture rewritten with legacy attention names (query/key/value/proj_attn) gives the identical output. */
    @Test
    void legacyAttentionKeysLoadToTheSameModel(@TempDir Path tmp) throws Exception {
        try (Fixture f = new Fixture(Fixture.DDPM)) {
            Files.copy(f.dir.resolve("config.json"), tmp.resolve("config.json"));
            Map<String, String> legacy = Map.of("to_q", "query", "to_k", "key", "to_v", "value", "to_out.0", "proj_attn");
            int renamed = 0;
            List<Tensor> open = new ArrayList<>();
            try (SafetensorsFile src = SafetensorsFile.open(f.dir.resolve("diffusion_pytorch_model.safetensors"))) {
                SafetensorsWriter w = new SafetensorsWriter();
                for (String n : src.names()) {
                    String out = n;
                    for (Map.Entry<String, String> e : legacy.entrySet()) {
                        String marker = ".attentions.";
                        if (n.contains(marker) && n.contains("." + e.getKey() + ".")) {
                            out = n.replace("." + e.getKey() + ".", "." + e.getValue() + ".");
                            renamed++;
                        }
                    }
                    Tensor t = src.load(n, Allocator.direct());
                    open.add(t);
                    w.add(out, t);
                }
                w.write(tmp.resolve("diffusion_pytorch_model.safetensors"));
            } finally {
                open.forEach(Tensor::close);
            }
            assertEquals(6 * 4 * 2, renamed, "weights and biases of q/k/v/out in the 6 attention blocks");
            try (UNetModel a = f.load(ref); UNetModel b = UNetModel.load(tmp, LoadOptions.of(ref));
                 UNetSession sa = a.newSession(); UNetSession sb = b.newSession();
                 Tensor ya = sa.forward(f.inputs()); Tensor yb = sb.forward(f.inputs())) {
                assertArrayEquals(ya.toFloatArray(), yb.toFloatArray());
            }
        }
    }

    /** One tensor missing, one extra, one mis-shaped: a single exception listing all three with their shapes. */
    @Test
    void misMappedCheckpointListsEveryProblemOnce() throws Exception {
        try (Fixture f = new Fixture(Fixture.SD);
             WeightSource ws = WeightSource.open(ModelLocator.locate(f.dir))) {
            ParameterSource real = ParameterSource.of(ws);
            String missing = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight";
            String reshaped = "mid_block.resnets.1.conv2.bias";
            String extra = "down_blocks.0.resnets.0.spurious.weight";
            ParameterSource broken = new ParameterSource() {
                @Override
                public Tensor load(String name, long[] expected) {
                    if (name.equals(missing)) return null;
                    if (name.equals(extra)) return Tensor.zeros(3, 3);
                    if (name.equals(reshaped)) return Tensor.zeros(63);
                    return real.load(name, expected);
                }

                @Override
                public Set<String> names() {
                    Set<String> s = new LinkedHashSet<>(real.names());
                    s.remove(missing);
                    s.add(extra);
                    return s;
                }

                @Override
                public long[] shapeOf(String name) {
                    return name.equals(extra) ? new long[]{3, 3} : real.shapeOf(name);
                }
            };
            var cfg = dev.unet4j.unet.config.UNet2DConditionConfig.from(dev.unet4j.core.checkpoint.DiffusersConfig.load(f.dir.resolve("config.json")));
            WeightMismatchException e = assertThrows(WeightMismatchException.class,
                    () -> UNet2DConditionModel.build(cfg, broken, "broken.safetensors", LoadOptions.of(ref)));
            assertEquals(3, e.problems().size(), e.getMessage());
            Map<String, Problem> byName = new HashMap<>();
            for (Problem p : e.problems()) byName.put(p.name(), p);
            assertArrayEquals(new long[]{32, 48}, byName.get(missing).expected()); // 32 channels at level 0, cross dim 48
            assertNull(byName.get(missing).found());
            assertArrayEquals(new long[]{64}, byName.get(reshaped).expected());
            assertArrayEquals(new long[]{63}, byName.get(reshaped).found());
            assertNull(byName.get(extra).expected());
            assertArrayEquals(new long[]{3, 3}, byName.get(extra).found());
            for (String n : List.of(missing, reshaped, extra)) assertTrue(e.getMessage().contains(n), e.getMessage());
        }
    }

    @Test
    void unsupportedConfigurationsFailClearly() {
        UnsupportedConfigException e = assertThrows(UnsupportedConfigException.class, () ->
                dev.unet4j.unet.config.UNet2DConditionConfig.fromJson("{\"dual_cross_attention\": true}"));
        assertTrue(e.getMessage().contains("dual_cross_attention"), e.getMessage());
        e = assertThrows(UnsupportedConfigException.class, () -> UNet2DModel.spec(
                dev.unet4j.unet.config.UNet2DConfig.fromJson("{\"act_fn\": \"mish\"}")));
        assertTrue(e.getMessage().contains("mish"), e.getMessage());
        e = assertThrows(UnsupportedConfigException.class, () ->
                dev.unet4j.unet.config.UNet2DConfig.fromJson("{\"down_block_types\": [\"SkipDownBlock2D\",\"DownBlock2D\",\"DownBlock2D\",\"DownBlock2D\"]}"));
        assertTrue(e.getMessage().contains("SkipDownBlock2D"), e.getMessage());
    }

    /** A pipeline folder (model_index.json + unet/) loads the same model; a LayerFactory sees every layer by path. */
    @Test
    void pipelineFolderAndLayerFactoryHook(@TempDir Path tmp) throws Exception {
        try (Fixture f = new Fixture(Fixture.SD)) {
            Path unet = Files.createDirectories(tmp.resolve("unet"));
            Files.writeString(tmp.resolve("model_index.json"), "{\"_class_name\": \"StableDiffusionPipeline\"}");
            for (String n : List.of("config.json", "diffusion_pytorch_model.safetensors")) Files.copy(f.dir.resolve(n), unet.resolve(n));
            List<String> convs = new ArrayList<>(), linears = new ArrayList<>();
            LayerFactory plain = LayerFactory.of(ref);
            LayerFactory recording = new LayerFactory() {
                @Override
                public dev.unet4j.core.kernels.Conv2d conv2d(String path, dev.unet4j.core.kernels.Conv2dSpec spec, Tensor w, Tensor b) {
                    convs.add(path);
                    return plain.conv2d(path, spec, w, b);
                }

                @Override
                public dev.unet4j.core.kernels.Linear linear(String path, Tensor w, Tensor b) {
                    linears.add(path);
                    return plain.linear(path, w, b);
                }
            };
            try (UNetModel a = f.load(ref); UNetModel b = UNetModel.load(tmp, LoadOptions.of(ref).withLayerFactory(recording));
                 UNetSession sa = a.newSession(); UNetSession sb = b.newSession();
                 Tensor ya = sa.forward(f.inputs()); Tensor yb = sb.forward(f.inputs())) {
                assertArrayEquals(ya.toFloatArray(), yb.toFloatArray());
            }
            assertTrue(convs.contains("conv_in") && convs.contains("down_blocks.0.resnets.0.conv1")
                    && convs.contains("down_blocks.0.attentions.0.proj_in") && convs.contains("up_blocks.0.upsamplers.0.conv"), convs.toString());
            assertTrue(linears.contains("time_embedding.linear_1") && linears.contains("down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k")
                    && linears.contains("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj"), linears.toString());
            // every conv/linear weight of the checkpoint went through the factory exactly once
            try (WeightSource ws = WeightSource.open(ModelLocator.locate(f.dir))) {
                long layerWeights = ws.names().stream().filter(n -> n.endsWith(".weight")
                        && ws.names().contains(n.substring(0, n.length() - 7) + ".bias") && !n.contains("norm")).count();
                long noBias = ws.names().stream().filter(n -> n.matches(".*attn[12]\\.to_[qkv]\\.weight")).count();
                assertEquals(layerWeights + noBias, convs.size() + linears.size());
            }
        }
    }
}
