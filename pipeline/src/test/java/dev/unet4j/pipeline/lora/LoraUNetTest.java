package dev.unet4j.pipeline.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.lora.LoraFile.Component;
import dev.unet4j.text.ClipTextModel;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * lora-tiny (kohya, rank 4, alpha 2, F16) on sd-pipeline-tiny's UNet: the side path and the merged copy both give
 * diffusers' merged UNet output (unet_merged_sample) at scale 0.8, and agree with each other; the shared model is
 * untouched; 8 threads with different sets give bit for bit their solo results; hostile files fail with one error.
 */
class LoraUNetTest {
    static final double TOL = 1e-4;
    static final Path PIPE = Fixtures.fixture("sd-pipeline-tiny");
    static final Path LORA = Fixtures.fixture("lora-tiny");
    static DnnlKernels k;
    static UNetModel unet;
    static LayerCatalog unetLayers = new LayerCatalog();
    static ClipTextModel text;
    static LayerCatalog textLayers = new LayerCatalog();
    static LoraFile lora;
    static Tensor sample, hidden;
    static float[] timesteps;

    @BeforeAll
    static void load() throws IOException {
        k = new DnnlKernels(DnnlKernels.Options.exact());
        unet = UNetModel.load(PIPE.resolve("unet"), LoadOptions.of(k).withLayerFactory(kk -> unetLayers.recording(LayerFactory.of(kk))));
        text = ClipTextModel.load(PIPE.resolve("text_encoder"), LoadOptions.of(k).withLayerFactory(kk -> textLayers.recording(LayerFactory.of(kk))));
        lora = LoraFile.load(LORA.resolve("lora.safetensors"));
        try (SafetensorsFile f = SafetensorsFile.open(LORA.resolve("inputs.safetensors"))) {
            sample = f.load("sample");
            hidden = f.load("encoder_hidden_states");
            try (Tensor t = f.load("timestep")) {
                timesteps = t.toFloatArray();
            }
        }
    }

    @AfterAll
    static void close() {
        if (unet != null) unet.close();
        if (text != null) text.close();
        if (sample != null) sample.close();
        if (hidden != null) hidden.close();
        if (k != null) k.close();
    }

    static float[] golden(String name) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(LORA.resolve("outputs.safetensors")); Tensor t = f.load(name)) {
            return t.toFloatArray();
        }
    }

    static float[] run(LayerAdapter adapter) {
        try (UNetSession s = unet.newSession()) {
            s.workspace().attributes().put(LayerAdapter.class, adapter);
            try (Tensor out = s.forward(UNetInputs.builder(sample, Timestep.float32(timesteps)).encoderHiddenStates(hidden).build())) {
                return out.toFloatArray();
            }
        }
    }

    static double rel(float[] want, float[] got) {
        assertEquals(want.length, got.length);
        double max = 0, err = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            err = Math.max(err, Math.abs(want[i] - got[i]));
        }
        return err / max;
    }

    /** Modules of the fixture keymap whose target weight starts with {@code prefix}. */
    static int keymapCount(String prefix) throws IOException {
        int n = 0;
        for (JsonNode e : new ObjectMapper().readTree(LORA.resolve("keymap.json").toFile()).get("mapping")) {
            if (e.get("target_weight").asText().startsWith(prefix)) n++;
        }
        return n;
    }

    static Map<Component, LayerCatalog> catalogs() {
        return Map.of(Component.UNET, unetLayers, Component.TEXT_ENCODER, textLayers);
    }

    @Test
    void everyKohyaNameMapsToTheTargetOfTheFixtureKeymap() throws IOException {
        JsonNode map = new ObjectMapper().readTree(LORA.resolve("keymap.json").toFile()).get("mapping");
        assertEquals(lora.modules().size(), map.size());
        assertEquals(List.of(), lora.problems());
        int checked = 0;
        for (JsonNode e : map) {
            String kohya = e.get("kohya").asText();
            String target = e.get("target_weight").asText();           // unet.<path>.weight / text_encoder.<path>.weight
            LoraFile.Module m = lora.modules().stream().filter(x -> kohya.endsWith(x.name())
                    && kohya.equals((x.component() == Component.UNET ? "lora_unet_" : "lora_te_") + x.name())).findFirst().orElseThrow();
            LayerCatalog cat = m.component() == Component.UNET ? unetLayers : textLayers;
            LayerCatalog.Layer l = cat.byFlatName(m.name());
            assertNotNull(l, kohya);
            String prefix = m.component() == Component.UNET ? "unet." : "text_encoder.";
            assertEquals(target, prefix + l.path() + ".weight", kohya);
            assertEquals(4, m.rank());
            assertEquals(2f, m.alpha());
            checked++;
        }
        assertTrue(checked > 0);
    }

    @Test
    void sidePathAndMergedGiveDiffusersMergedUNet() throws IOException {
        float[] base = run(null);
        double baseErr = rel(golden("unet_base_sample"), base);
        LoraSet set = LoraSet.of(lora, 0.8);
        float[] side, merged;
        try (LoraAdapters a = LoraAdapters.sidePath(set, k, catalogs())) {
            assertEquals(Map.of(Component.UNET, keymapCount("unet."), Component.TEXT_ENCODER, keymapCount("text_encoder.")), a.touched());
            side = run(a.adapter(Component.UNET));
        }
        try (WeightSource w = WeightSource.open(List.of(PIPE.resolve("unet/diffusion_pytorch_model.safetensors")));
             WeightSource tw = WeightSource.open(List.of(PIPE.resolve("text_encoder/model.safetensors")));
             LoraAdapters a = LoraAdapters.merged(set, k, catalogs(), Map.of(Component.UNET, ParameterSource.of(w), Component.TEXT_ENCODER, ParameterSource.of(tw)))) {
            merged = run(a.adapter(Component.UNET));
        }
        float[] want = golden("unet_merged_sample");
        double sideErr = rel(want, side), mergedErr = rel(want, merged), agree = rel(merged, side);
        System.out.printf("lora-tiny UNet: base %.2e, side path %.2e, merged %.2e vs diffusers; side vs merged %.2e%n", baseErr, sideErr, mergedErr, agree);
        assertTrue(baseErr <= TOL, "base " + baseErr);
        assertTrue(sideErr <= TOL, "side path " + sideErr);
        assertTrue(mergedErr <= TOL, "merged " + mergedErr);
        assertTrue(agree <= TOL, "side vs merged " + agree);
        assertTrue(rel(want, base) > 0.05, "the LoRA changes the output");
        assertArrayEquals(base, run(null), 0f, "the shared model's output is unchanged after LoRA runs");
    }

    @Test
    void eightThreadsEachWithItsOwnSetMatchTheirSoloRuns() throws Exception {
        LoraSet[] sets = {null, LoraSet.of(lora, 0.8), LoraSet.of(lora, 0.3), LoraSet.of(lora, -0.5),
                LoraSet.of(lora, 0.4).with(lora, 0.4), null, LoraSet.of(lora, 1.0), LoraSet.of(lora, 0.8)};
        List<LoraAdapters> adapters = new ArrayList<>();
        LayerAdapter[] per = new LayerAdapter[sets.length];
        for (int i = 0; i < sets.length; i++) {
            if (sets[i] == null) continue;
            LoraAdapters a = LoraAdapters.sidePath(sets[i], k, catalogs());
            adapters.add(a);
            per[i] = a.adapter(Component.UNET);
        }
        try {
            float[][] solo = new float[sets.length][];
            for (int i = 0; i < sets.length; i++) solo[i] = run(per[i]);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<float[]>> fs = new ArrayList<>();
                    for (int i = 0; i < sets.length; i++) {
                        LayerAdapter a = per[i];
                        fs.add(pool.submit(() -> run(a)));
                    }
                    for (int i = 0; i < sets.length; i++) assertArrayEquals(solo[i], fs.get(i).get(), 0f, "thread " + i + " round " + round);
                }
            } finally {
                pool.shutdown();
            }
            assertArrayEquals(solo[0], solo[5], 0f);
            assertTrue(rel(solo[1], solo[4]) < 1e-5, "0.4 + 0.4 of the same LoRA is 0.8 of it: " + rel(solo[1], solo[4]));
            assertTrue(rel(solo[0], solo[2]) > 1e-3);
        } finally {
            adapters.forEach(LoraAdapters::close);
        }
    }

    @Test
    void hostileFilesFailWithOneListingError(@TempDir Path dir) throws IOException {
        String q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        String kk = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k";
        String v = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_v";
        Path f = dir.resolve("hostile.safetensors");
        new SafetensorsWriter()
                .add(q + ".lora_down.weight", new float[4 * 8], 4, 8).add(q + ".lora_up.weight", new float[8 * 3], 8, 3)  // ranks 4 vs 3
                .addRaw(q + ".alpha", DType.I64, new long[0], new byte[8])                                               // integer alpha
                .add(kk + ".lora_down.weight", new float[4 * 5], 4, 5).add(kk + ".lora_up.weight", new float[8 * 4], 8, 4) // in 5, layer has 8
                .add(v + ".lora_down.weight", new float[4 * 8], 4, 8)                                                    // no up
                .add("lora_unet_down_blocks_7_attentions_0_to_q.lora_down.weight", new float[8], 1, 8)
                .add("lora_unet_down_blocks_7_attentions_0_to_q.lora_up.weight", new float[8], 8, 1)                     // no such layer
                .add("lora_unet_mid_block_resnets_0_conv1.lora_down.weight", new float[4 * 16 * 9], 4, 16, 3, 3)
                .add("lora_unet_mid_block_resnets_0_conv1.lora_up.weight", new float[16 * 4 * 9], 16, 4, 3, 3)         // up kernel 3x3
                .add("lora_unet_mid_block_resnets_0_conv2.hada_w1_a", new float[4], 4)                                   // LoHa
                .write(f);
        LoraFile bad = LoraFile.load(f);
        LoraException e = assertThrows(LoraException.class, () -> LoraAdapters.sidePath(LoraSet.of(bad, 1), k, catalogs()));
        String m = e.getMessage();
        System.out.println(m);
        assertEquals(6, e.problems().size(), m);
        assertTrue(m.contains(q + ".alpha: alpha must be one float") && m.contains("no up (lora_up / lora_B)")
                && m.contains("down_blocks_7_attentions_0_to_q (UNET): no layer of that name")
                && m.contains("up·down is [8, 5], the weight is [8, 8]") && m.contains("up must be [out, r] or [out, r, 1, 1]")
                && m.contains("LoHa weights are not supported"), m);
        // lenient: only the unmapped module is forgiven
        LoraException lenient = assertThrows(LoraException.class, () -> LoraAdapters.sidePath(LoraSet.of(bad, 1).lenient(), k, catalogs()));
        assertEquals(5, lenient.problems().size(), lenient.getMessage());
        Path ckpt = dir.resolve("evil.ckpt");
        java.nio.file.Files.write(ckpt, new byte[] {(byte) 0x80, 2});
        assertThrows(dev.unet4j.core.checkpoint.ModelException.class, () -> LoraFile.load(ckpt));
    }

    @Test
    void ranksThatDisagreeAreReported(@TempDir Path dir) throws IOException {
        String q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
        Path f = dir.resolve("ranks.safetensors");
        new SafetensorsWriter().add(q + ".lora_down.weight", new float[4 * 8], 4, 8).add(q + ".lora_up.weight", new float[8 * 3], 8, 3).write(f);
        LoraException e = assertThrows(LoraException.class, () -> LoraAdapters.sidePath(LoraSet.of(LoraFile.load(f), 1), k, catalogs()));
        assertTrue(e.getMessage().contains("ranks disagree: down [4, 8], up [8, 3]"), e.getMessage());
    }

    /** The fixture's kohya file rewritten with diffusers/PEFT names (unet.<path>.lora_A/lora_B, alpha) gives the same output. */
    @Test
    void peftNamesGiveTheSameAsKohya(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("peft.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        for (LoraFile.Module m : lora.modules()) {
            LayerCatalog cat = m.component() == Component.UNET ? unetLayers : textLayers;
            String p = (m.component() == Component.UNET ? "unet." : "text_encoder.") + cat.byFlatName(m.name()).path();
            w.add(p + ".lora_A.weight", m.down(), m.downShape()).add(p + ".lora_B.weight", m.up(), m.upShape())
                    .add(p + ".alpha", new float[] {m.alpha()});
        }
        w.write(f);
        LoraFile peft = LoraFile.load(f);
        assertEquals(lora.modules().size(), peft.modules().size());
        try (LoraAdapters a = LoraAdapters.sidePath(LoraSet.of(lora, 0.8), k, catalogs());
             LoraAdapters b = LoraAdapters.sidePath(LoraSet.of(peft, 0.8), k, catalogs())) {
            assertArrayEquals(run(a.adapter(Component.UNET)), run(b.adapter(Component.UNET)), 0f);
        }
    }

    /**
     * LoCon: a 3x3 down / 1x1 up LoRA on resnet convolutions (and a conv-shaped one on a 1x1 proj_in): the side path
     * (down conv with the layer's stride and padding, then 1x1 up) agrees with the merged weight
     * W + f·reshape(up @ down.flatten(1)), computed here by a plain loop.
     */
    @Test
    void loconConvolutionsSidePathAgreesWithMerged(@TempDir Path dir) throws IOException {
        java.util.Random rnd = new java.util.Random(7);
        Path f = dir.resolve("locon.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        int n = 0;
        for (String path : new String[] {"down_blocks.0.resnets.0.conv1", "mid_block.resnets.0.conv2", "down_blocks.0.downsamplers.0.conv",
                "up_blocks.3.resnets.0.conv_shortcut", "conv_in"}) {
            LayerCatalog.Layer l = unetLayers.get(path);
            assertNotNull(l, path);
            int r = 2;
            long[] ds = {r, l.in(), l.spec().kernelH(), l.spec().kernelW()};
            float[] down = new float[(int) (ds[0] * ds[1] * ds[2] * ds[3])], up = new float[l.out() * r];
            for (int i = 0; i < down.length; i++) down[i] = (float) rnd.nextGaussian() * 0.3f;
            for (int i = 0; i < up.length; i++) up[i] = (float) rnd.nextGaussian() * 0.3f;
            String name = "lora_unet_" + path.replace('.', '_');
            w.add(name + ".lora_down.weight", down, ds).add(name + ".lora_up.weight", up, l.out(), r, 1, 1).add(name + ".alpha", new float[] {1f});
            n++;
        }
        w.write(f);
        LoraSet set = LoraSet.of(LoraFile.load(f), 0.7);
        float[] side, merged;
        try (LoraAdapters a = LoraAdapters.sidePath(set, k, catalogs())) {
            assertEquals(Map.of(Component.UNET, n), a.touched());
            side = run(a.adapter(Component.UNET));
        }
        try (WeightSource ws = WeightSource.open(List.of(PIPE.resolve("unet/diffusion_pytorch_model.safetensors")));
             LoraAdapters a = LoraAdapters.merged(set, k, catalogs(), Map.of(Component.UNET, ParameterSource.of(ws)))) {
            merged = run(a.adapter(Component.UNET));
        }
        double agree = rel(merged, side), effect = rel(run(null), side);
        System.out.printf("LoCon: side vs merged %.2e (effect %.2e)%n", agree, effect);
        assertTrue(agree <= TOL, "side vs merged " + agree);
        assertTrue(effect > 1e-2, "the LoCon changes the output: " + effect);
    }

    /** The merged weight is W + f·up·down with f = scale·alpha/rank: checked against a plain loop on one layer. */
    @Test
    void mergedWeightIsTheFormula() {
        LoraFile.Module m = lora.modules().get(0);
        LayerCatalog.Layer l = unetLayers.byFlatName(m.name());
        float[] w = new float[l.out() * l.in()];
        for (int i = 0; i < w.length; i++) w[i] = i * 0.01f;
        float[] want = w.clone();
        int r = m.rank();
        double f = 0.8 * m.alpha() / r;
        for (int o = 0; o < l.out(); o++) {
            for (int c = 0; c < l.in(); c++) {
                double s = 0;
                for (int j = 0; j < r; j++) s += (double) m.up()[o * r + j] * m.down()[j * l.in() + c];
                want[o * l.in() + c] += (float) (f * s);
            }
        }
        LoraAdapters.Resolved res = new LoraAdapters.Resolved(l, (float) f, r, m.down(), m.downShape(), m.up());
        LoraAdapters.Adapter.addProduct(w, res, l);
        assertArrayEquals(want, w, 1e-6f);
    }
}
