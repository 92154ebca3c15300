package dev.unet4j.pipeline.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.text.ClipTextConfig;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.vae.AutoencoderKLConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sd-single-file-tiny (sd-pipeline-tiny written by diffusers' own converter, F16): every diffusers name maps to the
 * single-file key the fixture's keymap.json gives, and every tensor loaded through the mapping equals the pipeline
 * folder's float32 tensor exactly (F16 to F32 is exact for these values).
 */
class SingleFileCheckpointTest {
    static final Path FILE = Fixtures.fixture("sd-single-file-tiny").resolve("model.safetensors");
    static final Path FOLDER = Fixtures.fixture("sd-pipeline-tiny");

    static Map<String, String> keymap() throws IOException {
        JsonNode map = new ObjectMapper().readTree(Fixtures.fixture("sd-single-file-tiny").resolve("keymap.json").toFile()).get("map");
        Map<String, String> out = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    @Test
    void detectsV1AndMapsEveryKeyAsTheFixtureKeymap() throws IOException {
        Map<String, String> keymap = keymap();
        assertEquals(980, keymap.size());
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(FILE)) {
            assertEquals(LdmModelType.V1, ckpt.type());
            assertEquals(Set.of(), ckpt.foreignKeys());
            Map<String, ParameterSource> sources = sources(ckpt);
            int checked = 0;
            for (var e : sources.entrySet()) {
                RenamedSource src = (RenamedSource) e.getValue();
                for (String name : src.names()) {
                    String expected = keymap.get(e.getKey() + "." + name);
                    assertEquals(expected, src.refs().containsKey(name) ? src.refs().get(name).key() : null,
                            e.getKey() + "." + name);
                    checked++;
                }
            }
            assertEquals(980, checked, "every single-file tensor is mapped once");
        }
    }

    /** Writing single files: the inverse mapping gives the keymap's LDM key for every UNet parameter. */
    @Test
    void ldmNameInvertsTheMappingAsTheFixtureKeymap() throws IOException {
        UNet2DConditionConfig c = UNet2DConditionConfig.fromJson(Files.readString(FOLDER.resolve("unet/config.json")));
        boolean[] upAttention = {false, true, true, true}; // up_block_types: UpBlock2D, then CrossAttnUpBlock2D x3
        int n = 0;
        for (var e : keymap().entrySet()) {
            if (!e.getKey().startsWith("unet.")) continue;
            String d = e.getKey().substring(5);
            String ldm = LdmUNetKeys.ldmName(d, c.layersPerBlock(), upAttention);
            assertEquals(e.getValue(), SingleFileCheckpoint.UNET + ldm, d);
            assertEquals(d, LdmUNetKeys.diffusersName(ldm, c.layersPerBlock(), c.additionEmbedType()), "round trip " + d);
            n++;
        }
        assertTrue(n > 300, "UNet keys checked: " + n);
    }

    @Test
    void everyTensorEqualsThePipelineFolders() throws IOException {
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(FILE)) {
            int exact = 0;
            for (var e : sources(ckpt).entrySet()) {
                Path weights = FOLDER.resolve(e.getKey()).resolve(e.getKey().equals("text_encoder") ? "model.safetensors" : "diffusion_pytorch_model.safetensors");
                try (SafetensorsFile f = SafetensorsFile.open(weights)) {
                    assertEquals(new java.util.TreeSet<>(f.names()), new java.util.TreeSet<>(e.getValue().names()), e.getKey() + " names");
                    for (String n : f.names()) {
                        try (Tensor want = f.load(n); Tensor got = e.getValue().load(n, want.shape())) {
                            assertArrayEquals(want.shape(), got.shape(), n);
                            assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 0f, e.getKey() + "." + n);
                            exact++;
                        }
                    }
                }
            }
            assertEquals(980, exact);
        }
    }

    static Map<String, ParameterSource> sources(SingleFileCheckpoint ckpt) throws IOException {
        return Map.of(
                "unet", ckpt.unet(UNet2DConditionConfig.fromJson(Files.readString(FOLDER.resolve("unet/config.json")))),
                "vae", ckpt.vae(AutoencoderKLConfig.load(FOLDER.resolve("vae/config.json"))),
                "text_encoder", ckpt.textEncoder(ClipTextConfig.load(FOLDER.resolve("text_encoder/config.json"))));
    }

    @Test
    void picklesAreRefusedUnread(@TempDir Path dir) throws IOException {
        for (String name : new String[] {"model.ckpt", "model.pt", "pytorch_model.bin"}) {
            Path f = dir.resolve(name);
            Files.write(f, new byte[] {(byte) 0x80, 2, 'c', 'o', 's'});
            ModelException e = assertThrows(ModelException.class, () -> SingleFileCheckpoint.open(f));
            assertTrue(e.getMessage().contains("never unpickles") && e.getMessage().contains("arbitrary code")
                    && e.getMessage().contains("safetensors"), e.getMessage());
        }
        Path disguised = dir.resolve("model.safetensors");
        Files.write(disguised, new byte[] {'P', 'K', 3, 4, 0, 0});
        ModelException e = assertThrows(ModelException.class, () -> SingleFileCheckpoint.open(disguised));
        assertTrue(e.getMessage().contains("by its content"), e.getMessage());
    }

    @Test
    void detectionFollowsInferDiffusersModelType(@TempDir Path dir) throws IOException {
        String conv = LdmModelType.CONV_IN;
        assertEquals(LdmModelType.INPAINTING, typeOf(dir, Map.of(conv, new long[] {8, 9, 3, 3})));
        assertEquals(LdmModelType.V1, typeOf(dir, Map.of(conv, new long[] {8, 4, 3, 3})));
        assertEquals(LdmModelType.V2, typeOf(dir, Map.of(conv, new long[] {8, 4, 3, 3}, LdmModelType.V2_KEY, new long[] {8, 1024})));
        assertEquals(LdmModelType.V1, typeOf(dir, Map.of(conv, new long[] {8, 4, 3, 3}, LdmModelType.V2_KEY, new long[] {8, 768})));
        assertEquals(LdmModelType.INPAINTING_V2, typeOf(dir, Map.of(conv, new long[] {8, 9, 3, 3}, LdmModelType.V2_KEY, new long[] {8, 1024})));
        assertEquals(LdmModelType.XL_BASE, typeOf(dir, Map.of(conv, new long[] {8, 4, 3, 3}, LdmModelType.XL_BASE_KEY, new long[] {4})));
        assertEquals(LdmModelType.XL_REFINER, typeOf(dir, Map.of(conv, new long[] {8, 4, 3, 3}, LdmModelType.XL_REFINER_KEY, new long[] {4})));
    }

    private static LdmModelType typeOf(Path dir, Map<String, long[]> tensors) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (var e : tensors.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            w.addRaw(e.getKey(), DType.F16, e.getValue(), new byte[(int) n * 2]);
        }
        Path f = dir.resolve("t" + System.nanoTime() + ".safetensors");
        w.write(f);
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(f)) {
            return c.type();
        }
    }

    /** OpenCLIP's fused in_proj and transposed text_projection, cut as diffusers' convert_open_clip_checkpoint. */
    @Test
    void openClipInProjIsSplitAndProjectionTransposed(@TempDir Path dir) throws IOException {
        int d = 4;
        float[] inProj = new float[3 * d * d];
        for (int i = 0; i < inProj.length; i++) inProj[i] = i;
        float[] bias = new float[3 * d];
        for (int i = 0; i < bias.length; i++) bias[i] = 100 + i;
        float[] proj = new float[d * 2]; // [D, P] = [4, 2]
        for (int i = 0; i < proj.length; i++) proj[i] = 200 + i;
        Path f = dir.resolve("sd2.safetensors");
        String p = SingleFileCheckpoint.OPEN_CLIP;
        new SafetensorsWriter()
                .add(LdmModelType.CONV_IN, new float[4], 1, 4, 1, 1)
                .add(p + "transformer.resblocks.0.attn.in_proj_weight", inProj, 3L * d, d)
                .add(p + "transformer.resblocks.0.attn.in_proj_bias", bias, 3L * d)
                .add(p + "transformer.resblocks.1.attn.in_proj_bias", bias, 3L * d)
                .add(p + "text_projection", proj, d, 2)
                .add(p + "logit_scale", new float[] {1}, 1)
                .write(f);
        ClipTextConfig oneLayer = ClipTextConfig.of(dev.unet4j.core.checkpoint.DiffusersConfig.parse("""
                {"architectures": ["CLIPTextModelWithProjection"], "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 1,
                 "num_attention_heads": 1, "projection_dim": 2}""", "test"));
        try (SingleFileCheckpoint c = SingleFileCheckpoint.open(f)) {
            ParameterSource s = c.textEncoder(oneLayer);
            assertEquals(Set.of("text_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight",
                    "text_model.encoder.layers.0.self_attn.v_proj.weight", "text_model.encoder.layers.0.self_attn.q_proj.bias",
                    "text_model.encoder.layers.0.self_attn.k_proj.bias", "text_model.encoder.layers.0.self_attn.v_proj.bias",
                    "text_projection.weight"), s.names(), "layer 1 (past num_hidden_layers) and logit_scale are ignored");
            String[] qkv = {"q_proj", "k_proj", "v_proj"};
            for (int part = 0; part < 3; part++) {
                try (Tensor w = s.load("text_model.encoder.layers.0.self_attn." + qkv[part] + ".weight", new long[] {d, d});
                     Tensor b = s.load("text_model.encoder.layers.0.self_attn." + qkv[part] + ".bias", new long[] {d})) {
                    float[] ew = new float[d * d];
                    for (int i = 0; i < ew.length; i++) ew[i] = part * d * d + i;
                    assertArrayEquals(ew, w.toFloatArray(), 0f);
                    assertArrayEquals(new float[] {100 + part * d, 101 + part * d, 102 + part * d, 103 + part * d}, b.toFloatArray(), 0f);
                }
            }
            try (Tensor t = s.load("text_projection.weight", new long[] {2, d})) {
                assertArrayEquals(new long[] {2, d}, t.shape());
                assertArrayEquals(new float[] {200, 202, 204, 206, 201, 203, 205, 207}, t.toFloatArray(), 0f);
            }
        }
    }

    /** SDXL's two embedders: CLIP names with the prefix removed, OpenCLIP split and with its projection kept. */
    @Test
    void sdxlEmbeddersMapAsDiffusers(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("xl.safetensors");
        String te1 = SingleFileCheckpoint.XL_CLIP, te2 = SingleFileCheckpoint.XL_OPEN_CLIP;
        new SafetensorsWriter()
                .add(LdmModelType.CONV_IN, new float[4], 1, 4, 1, 1)
                .add(te1 + "text_model.encoder.layers.0.self_attn.q_proj.weight", new float[16], 4, 4)
                .add(te1 + "text_model.embeddings.position_ids", new float[77], 1, 77)
                .add(te2 + "transformer.resblocks.0.attn.in_proj_weight", new float[48], 12, 4)
                .add(te2 + "transformer.resblocks.9.mlp.c_proj.bias", new float[4], 4)
                .add(te2 + "text_projection", new float[8], 4, 2)
                .write(f);
        ClipTextConfig c = ClipTextConfig.of(dev.unet4j.core.checkpoint.DiffusersConfig.parse("""
                {"architectures": ["CLIPTextModelWithProjection"], "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 10,
                 "num_attention_heads": 1, "projection_dim": 2}""", "test"));
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(f)) {
            assertEquals(LdmModelType.XL_BASE, ckpt.type());
            assertEquals(Set.of(), ckpt.foreignKeys());
            assertEquals(Set.of("text_model.encoder.layers.0.self_attn.q_proj.weight"), ckpt.xlTextEncoder(c).names());
            assertEquals(Set.of("text_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight",
                    "text_model.encoder.layers.0.self_attn.v_proj.weight", "text_model.encoder.layers.9.mlp.fc2.bias", "text_projection.weight"),
                    ckpt.xlTextEncoder2(c).names());
            assertArrayEquals(new long[] {2, 4}, ckpt.xlTextEncoder2(c).shapeOf("text_projection.weight"));
        }
    }
}
