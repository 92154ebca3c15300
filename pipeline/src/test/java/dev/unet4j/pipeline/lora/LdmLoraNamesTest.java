package dev.unet4j.pipeline.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.DiffusersLdmTables;
import dev.unet4j.pipeline.lora.LoraFile.Component;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kohya LoRA files with the original LDM / SGM module names ({@code lora_unet_input_blocks_4_1_proj_in}): a table of
 * real kohya names and the diffusers module each names, worked out by hand with diffusers'
 * {@code _maybe_map_sgm_blocks_to_diffusers} (block {@code (i-1)//(L+1)}, layer {@code (i-1)%(L+1)} for input
 * blocks, {@code i//(L+1)}, {@code i%(L+1)} for output blocks; inner index 0 resnets, 1 attentions, 2 upsamplers;
 * {@code op} the downsampler; middle 0/1/2 resnet 0, attention 0, resnet 1) and {@code _convert_unet_lora_key}
 * ({@code in_layers_2} conv1, {@code out_layers_3} conv2, {@code emb_layers_1} time_emb_proj, {@code skip_connection}
 * conv_shortcut) of {@code loaders/lora_conversion_utils.py}; and lora-tiny rewritten in LDM names (with
 * {@link DiffusersLdmTables}, diffusers' own converter tables), plus LoCon factors on resnets, samplers and conv_in:
 * the same layers get the same factors, and the merged UNet gives bit for bit the same output.
 */
class LdmLoraNamesTest {
    static final Path PIPE = Fixtures.fixture("sd-pipeline-tiny");
    static final Path LORA = Fixtures.fixture("lora-tiny");
    static DnnlKernels k;
    static UNetModel unet;
    static LayerCatalog layers = new LayerCatalog();

    @BeforeAll
    static void load() throws IOException {
        k = new DnnlKernels(DnnlKernels.Options.exact());
        unet = UNetModel.load(PIPE.resolve("unet"), LoadOptions.of(k).withLayerFactory(kk -> layers.recording(LayerFactory.of(kk))));
    }

    @AfterAll
    static void close() {
        if (unet != null) unet.close();
        if (k != null) k.close();
    }

    /** kohya name (after lora_unet_) and the diffusers module path, SD 1.x (layers_per_block 2, 4 blocks). */
    static final String[][] SD15 = {
            {"input_blocks_1_1_proj_in", "down_blocks.0.attentions.0.proj_in"},
            {"input_blocks_1_1_transformer_blocks_0_attn1_to_q", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"},
            {"input_blocks_2_1_transformer_blocks_0_attn2_to_k", "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k"},
            {"input_blocks_4_1_transformer_blocks_0_ff_net_0_proj", "down_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj"},
            {"input_blocks_5_1_transformer_blocks_0_attn1_to_out_0", "down_blocks.1.attentions.1.transformer_blocks.0.attn1.to_out.0"},
            {"input_blocks_7_1_proj_out", "down_blocks.2.attentions.0.proj_out"},
            {"input_blocks_8_1_transformer_blocks_0_ff_net_2", "down_blocks.2.attentions.1.transformer_blocks.0.ff.net.2"},
            {"input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1"},
            {"input_blocks_4_0_skip_connection", "down_blocks.1.resnets.0.conv_shortcut"},
            {"input_blocks_3_0_op", "down_blocks.0.downsamplers.0.conv"},
            {"input_blocks_11_0_emb_layers_1", "down_blocks.3.resnets.1.time_emb_proj"},
            {"middle_block_0_out_layers_3", "mid_block.resnets.0.conv2"},
            {"middle_block_1_transformer_blocks_0_attn1_to_v", "mid_block.attentions.0.transformer_blocks.0.attn1.to_v"},
            {"middle_block_2_in_layers_2", "mid_block.resnets.1.conv1"},
            {"output_blocks_0_0_in_layers_2", "up_blocks.0.resnets.0.conv1"},
            {"output_blocks_3_1_proj_in", "up_blocks.1.attentions.0.proj_in"},
            {"output_blocks_5_2_conv", "up_blocks.1.upsamplers.0.conv"},
            {"output_blocks_8_1_transformer_blocks_0_attn2_to_q", "up_blocks.2.attentions.2.transformer_blocks.0.attn2.to_q"},
            {"output_blocks_9_0_skip_connection", "up_blocks.3.resnets.0.conv_shortcut"},
            {"output_blocks_11_1_transformer_blocks_0_attn1_to_out_0", "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_out.0"},
            // where diffusers' LoRA converter has no answer, convert_ldm_unet_checkpoint's: up block 0 (no attention) has
            // its upsampler at inner index 1; conv_in, time_embed and out are outside the blocks
            {"output_blocks_2_1_conv", "up_blocks.0.upsamplers.0.conv"},
            {"input_blocks_0_0", "conv_in"},
            {"time_embed_0", "time_embedding.linear_1"},
            {"out_2", "conv_out"},
    };

    /** SDXL base (layers_per_block 2, 3 blocks, text_time). */
    static final String[][] SDXL = {
            {"input_blocks_4_1_transformer_blocks_1_attn2_to_k", "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k"},
            {"input_blocks_8_1_transformer_blocks_9_ff_net_0_proj", "down_blocks.2.attentions.1.transformer_blocks.9.ff.net.0.proj"},
            {"input_blocks_6_0_op", "down_blocks.1.downsamplers.0.conv"},
            {"middle_block_1_transformer_blocks_9_attn1_to_out_0", "mid_block.attentions.0.transformer_blocks.9.attn1.to_out.0"},
            {"output_blocks_0_1_transformer_blocks_0_attn1_to_q", "up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q"},
            {"output_blocks_2_2_conv", "up_blocks.0.upsamplers.0.conv"},
            {"output_blocks_5_2_conv", "up_blocks.1.upsamplers.0.conv"},
            {"output_blocks_8_0_skip_connection", "up_blocks.2.resnets.2.conv_shortcut"},
            {"output_blocks_7_0_emb_layers_1", "up_blocks.2.resnets.1.time_emb_proj"},
            {"label_emb_0_0", "add_embedding.linear_1"},
    };

    @Test
    void realKohyaNamesMapAsDiffusers() {
        for (String[] row : SD15) {
            assertTrue(LdmLoraNames.isLdm(row[0]), row[0]);
            assertEquals(LayerCatalog.flat(row[1]), LdmLoraNames.diffusersFlat(row[0], new int[] {2, 2, 2, 2}, null), row[0]);
        }
        for (String[] row : SDXL) {
            assertEquals(LayerCatalog.flat(row[1]), LdmLoraNames.diffusersFlat(row[0], new int[] {2, 2, 2}, "text_time"), row[0]);
        }
        assertEquals("class_embedding_linear_1", LdmLoraNames.diffusersFlat("label_emb_0_0", new int[] {2, 2}, null));
        assertTrue(!LdmLoraNames.isLdm("down_blocks_0_attentions_0_proj_in"), "diffusers-layout names are not LDM");
        assertNull(LdmLoraNames.diffusersFlat("input_blocks_99_1_proj_in", new int[] {2, 2, 2, 2}, null));
        // the tiny UNet has the SD 1.x layout: every row names one of its layers through the catalog
        for (String[] row : SD15) {
            LayerCatalog.Layer l = LdmLoraNames.resolve(layers, row[0]);
            assertNotNull(l, row[0]);
            assertEquals(row[1], l.path(), row[0]);
        }
    }

    /** lora-tiny under LDM names (from diffusers' converter tables) plus LoCon modules, and the same in diffusers names. */
    @Test
    void anLdmNamedFileMergesAsTheDiffusersNamedOne(@TempDir Path dir) throws IOException {
        LoraFile lora = LoraFile.load(LORA.resolve("lora.safetensors"));
        JsonNode map = new ObjectMapper().readTree(LORA.resolve("keymap.json").toFile()).get("mapping");
        SafetensorsWriter ldm = new SafetensorsWriter(), dif = new SafetensorsWriter();
        int n = 0;
        for (JsonNode e : map) {
            String target = e.get("target_weight").asText();
            if (!target.startsWith("unet.")) continue;
            String kohya = e.get("kohya").asText();
            LoraFile.Module m = lora.modules().stream().filter(x -> kohya.equals("lora_unet_" + x.name())).findFirst().orElseThrow();
            String diffusersPath = target.substring("unet.".length(), target.length() - ".weight".length());
            add(ldm, ldmName(diffusersPath), m.down(), m.downShape(), m.up(), m.upShape(), m.alpha());
            add(dif, "lora_unet_" + LayerCatalog.flat(diffusersPath), m.down(), m.downShape(), m.up(), m.upShape(), m.alpha());
            n++;
        }
        Random rnd = new Random(11);
        for (String path : new String[] {"down_blocks.0.resnets.0.conv1", "down_blocks.1.resnets.0.conv_shortcut",
                "down_blocks.0.downsamplers.0.conv", "mid_block.resnets.1.conv2", "up_blocks.0.upsamplers.0.conv",
                "up_blocks.1.upsamplers.0.conv", "up_blocks.2.resnets.1.time_emb_proj", "mid_block.attentions.0.proj_in", "conv_in"}) {
            LayerCatalog.Layer l = layers.get(path);
            assertNotNull(l, path);
            int r = 2;
            long[] ds = l.conv() ? new long[] {r, l.in(), l.spec().kernelH(), l.spec().kernelW()} : new long[] {r, l.in()};
            long[] us = l.conv() ? new long[] {l.out(), r, 1, 1} : new long[] {l.out(), r};
            float[] down = new float[(int) (ds.length == 4 ? ds[0] * ds[1] * ds[2] * ds[3] : ds[0] * ds[1])], up = new float[l.out() * r];
            for (int i = 0; i < down.length; i++) down[i] = (float) rnd.nextGaussian() * 0.3f;
            for (int i = 0; i < up.length; i++) up[i] = (float) rnd.nextGaussian() * 0.3f;
            add(ldm, ldmName(path), down, ds, up, us, 1f);
            add(dif, "lora_unet_" + LayerCatalog.flat(path), down, ds, up, us, 1f);
            n++;
        }
        ldm.write(dir.resolve("ldm.safetensors"));
        dif.write(dir.resolve("diffusers.safetensors"));
        LoraFile a = LoraFile.load(dir.resolve("ldm.safetensors")), b = LoraFile.load(dir.resolve("diffusers.safetensors"));
        assertTrue(a.modules().stream().allMatch(m -> LdmLoraNames.isLdm(m.name())), "the file is in LDM names");
        Map<Component, LayerCatalog> cats = Map.of(Component.UNET, layers);
        var ra = LoraAdapters.resolve(LoraSet.of(a, 0.8), cats).get(Component.UNET);
        var rb = LoraAdapters.resolve(LoraSet.of(b, 0.8), cats).get(Component.UNET);
        assertEquals(n, ra.size(), "every module resolves to its own layer");
        assertEquals(rb.keySet(), ra.keySet());
        for (String p : rb.keySet()) {
            LoraAdapters.Resolved x = ra.get(p).get(0), y = rb.get(p).get(0);
            assertEquals(y.factor(), x.factor(), p);
            assertArrayEquals(y.down(), x.down(), 0f, p);
            assertArrayEquals(y.up(), x.up(), 0f, p);
        }
        float[] outA, outB, base;
        try (WeightSource w = WeightSource.open(List.of(PIPE.resolve("unet/diffusion_pytorch_model.safetensors")));
             LoraAdapters ma = LoraAdapters.merged(LoraSet.of(a, 0.8), k, cats, Map.of(Component.UNET, ParameterSource.of(w)));
             LoraAdapters mb = LoraAdapters.merged(LoraSet.of(b, 0.8), k, cats, Map.of(Component.UNET, ParameterSource.of(w)))) {
            outA = run(ma.adapter(Component.UNET));
            outB = run(mb.adapter(Component.UNET));
            base = run(null);
        }
        assertArrayEquals(outB, outA, 0f, "merged LDM-named LoRA = merged diffusers-named LoRA, bit for bit");
        double diff = 0;
        for (int i = 0; i < base.length; i++) diff = Math.max(diff, Math.abs(base[i] - outA[i]));
        assertTrue(diff > 1e-3, "the LoRA changes the output: " + diff);
    }

    /** diffusers' converter tables give the LDM path; kohya writes it with '_' after lora_unet_. */
    private static String ldmName(String diffusersPath) {
        String k = DiffusersLdmTables.unetKey(diffusersPath + ".weight");
        return "lora_unet_" + k.substring(0, k.length() - ".weight".length()).replace('.', '_');
    }

    private static void add(SafetensorsWriter w, String name, float[] down, long[] ds, float[] up, long[] us, Float alpha) {
        w.add(name + ".lora_down.weight", down, ds).add(name + ".lora_up.weight", up, us);
        if (alpha != null) w.add(name + ".alpha", new float[] {alpha});
    }

    private static float[] run(LayerAdapter adapter) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(LORA.resolve("inputs.safetensors"));
             Tensor sample = f.load("sample"); Tensor hidden = f.load("encoder_hidden_states"); Tensor t = f.load("timestep");
             UNetSession s = unet.newSession()) {
            s.workspace().attributes().put(LayerAdapter.class, adapter);
            try (Tensor out = s.forward(UNetInputs.builder(sample, Timestep.float32(t.toFloatArray())).encoderHiddenStates(hidden).build())) {
                return out.toFloatArray();
            }
        }
    }
}
