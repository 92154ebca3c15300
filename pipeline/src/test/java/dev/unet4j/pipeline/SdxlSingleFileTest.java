package dev.unet4j.pipeline;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.Float16;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.checkpoint.LdmModelType;
import dev.unet4j.pipeline.checkpoint.SingleFileCheckpoint;
import dev.unet4j.text.ClipTextConfig;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.vae.AutoencoderKLConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An SDXL single file loaded as a pipeline. The tiny SDXL folder ({@link TinySdxl}, its weights rounded to F16 values
 * once) is written here in the original
 * (SGM) layout, F16, with the key tables of {@link DiffusersLdmTables}, transcribed from diffusers (not from unet4j's
 * loader): the UNet from
 * {@code scripts/convert_diffusers_to_original_stable_diffusion.py} ({@code unet_conversion_map},
 * {@code unet_conversion_map_resnet}, {@code unet_conversion_map_layer} for 4 blocks of 2 layers) plus SDXL's
 * {@code label_emb} rows ({@code scripts/convert_diffusers_to_original_sdxl.py}, {@code DIFFUSERS_TO_LDM_MAPPING["unet"]
 * ["addition_embed_type"]} of {@code loaders/single_file_utils.py}); the VAE from the SDXL script's
 * {@code vae_conversion_map} / {@code vae_conversion_map_attn} (mid attention as 1x1 convs); text encoder 1 under
 * {@code conditioner.embedders.0.transformer.} as is; text encoder 2 under {@code conditioner.embedders.1.model.}
 * from {@code DIFFUSERS_TO_LDM_MAPPING["openclip"]} (q/k/v concatenated into {@code in_proj_*} in the order
 * {@code code2idx = {q: 0, k: 1, v: 2}}, {@code text_projection} stored transposed, as OpenCLIP's {@code x @ P}).
 * Loading it must give every folder tensor exactly and the folder pipeline's latents bit for bit.
 */
class SdxlSingleFileTest {
    @TempDir
    static Path dir;
    static Path pipe;
    static Path file;
    static Path configs;
    static int written;

    @BeforeAll
    static void write() throws IOException {
        pipe = TinySdxl.make(dir, "StableDiffusionXLPipeline", false);
        try (var files = Files.walk(pipe)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) roundToF16(f);
        }
        configs = configsOnly(pipe, dir.resolve("configs"));
        file = dir.resolve("sdxl-tiny.safetensors");
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(pipe.resolve("unet/diffusion_pytorch_model.safetensors"))) {
            for (String n : f.names()) DiffusersLdmTables.put(data, shapes, "model.diffusion_model." + DiffusersLdmTables.unetKey(n), f, n);
        }
        try (SafetensorsFile f = SafetensorsFile.open(pipe.resolve("vae/diffusion_pytorch_model.safetensors"))) {
            for (String n : f.names()) {
                String k = DiffusersLdmTables.vaeKey(n);
                DiffusersLdmTables.put(data, shapes, "first_stage_model." + k, f, n);
                // reshape_weight_for_sd: linear [C, C] to conv [C, C, 1, 1]
                for (String w : new String[] {"q", "k", "v", "proj_out"}) {
                    if (k.endsWith("mid.attn_1." + w + ".weight")) {
                        long[] s = shapes.get("first_stage_model." + k);
                        shapes.put("first_stage_model." + k, new long[] {s[0], s[1], 1, 1});
                    }
                }
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(pipe.resolve("text_encoder/model.safetensors"))) {
            for (String n : f.names()) DiffusersLdmTables.put(data, shapes, "conditioner.embedders.0.transformer." + n, f, n);
        }
        try (SafetensorsFile f = SafetensorsFile.open(pipe.resolve("text_encoder_2/model.safetensors"))) {
            DiffusersLdmTables.openClip(f, "conditioner.embedders.1.model.", data, shapes);
        }
        SafetensorsWriter w = new SafetensorsWriter();
        for (String k : data.keySet()) {
            float[] v = data.get(k);
            ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) b.putShort(Float16.fromFloat(x));
            w.addRaw(k, DType.F16, shapes.get(k), b.array());
        }
        w.write(file);
        written = data.size();
    }

    /** Rewrites a weight file with every value rounded to F16 once, so that an F16 single file holds the same numbers. */
    private static void roundToF16(Path file) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                try (Tensor t = f.load(n)) {
                    float[] v = t.toFloatArray();
                    for (int i = 0; i < v.length; i++) v[i] = Float16.toFloat(Float16.fromFloat(v[i]));
                    w.add(n, v, t.shape());
                }
            }
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".f16");
        w.write(tmp);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** The folder's configs and tokenizers without any weights (a {@code --config} folder for a single file). */
    private static Path configsOnly(Path pipe, Path to) throws IOException {
        try (var files = Files.walk(pipe)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                if (f.getFileName().toString().endsWith(".safetensors")) continue;
                Path t = to.resolve(pipe.relativize(f).toString());
                Files.createDirectories(t.getParent());
                Files.copy(f, t);
            }
        }
        return to;
    }

    // ---- tests ----

    @Test
    void theSingleFileHoldsExactlyTheFoldersTensors() throws IOException {
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file)) {
            assertEquals(LdmModelType.XL_BASE, ckpt.type(), "a conditioner.embedders.1.model file is SDXL even when tiny");
            assertEquals(Set.of(), ckpt.foreignKeys());
            ClipTextConfig te1 = ClipTextConfig.load(pipe.resolve("text_encoder/config.json"));
            ClipTextConfig te2 = ClipTextConfig.load(pipe.resolve("text_encoder_2/config.json"));
            Map<String, ParameterSource> sources = Map.of(
                    "unet/diffusion_pytorch_model.safetensors", ckpt.unet(UNet2DConditionConfig.fromJson(Files.readString(pipe.resolve("unet/config.json")))),
                    "vae/diffusion_pytorch_model.safetensors", ckpt.vae(AutoencoderKLConfig.load(pipe.resolve("vae/config.json"))),
                    "text_encoder/model.safetensors", ckpt.xlTextEncoder(te1),
                    "text_encoder_2/model.safetensors", ckpt.xlTextEncoder2(te2));
            int exact = 0;
            for (var e : sources.entrySet()) {
                try (SafetensorsFile f = SafetensorsFile.open(pipe.resolve(e.getKey()))) {
                    Set<String> want = new TreeSet<>(f.names());
                    want.removeIf(n -> n.endsWith("position_ids"));
                    assertEquals(want, new TreeSet<>(e.getValue().names()), e.getKey() + " names");
                    for (String n : want) {
                        try (Tensor w = f.load(n); Tensor got = e.getValue().load(n, w.shape())) {
                            assertArrayEquals(w.shape(), got.shape(), n);
                            assertArrayEquals(w.toFloatArray(), got.toFloatArray(), 0f, e.getKey() + " " + n);
                            exact++;
                        }
                    }
                }
            }
            System.out.printf("SDXL single file: %d stored tensors, %d folder tensors equal exactly%n", written, exact);
            assertTrue(exact > written, "the fused in_proj tensors give three folder tensors each");
        }
    }

    @Test
    void theSingleFilePipelineGeneratesTheFoldersLatentsBitForBit() throws IOException {
        try (StableDiffusion single = StableDiffusion.loadSingleFile(file, configs, PipelineOptions.defaults());
             StableDiffusion folder = StableDiffusion.load(pipe, PipelineOptions.defaults())) {
            assertEquals("euler", single.samplerName(TextToImage.of("x")));
            assertEquals(folder.defaultSize(), single.defaultSize());
            for (String negative : new String[] {null, "blurry"}) {
                TextToImage r = TextToImage.of("a photo of a cat").negativePrompt(negative).size(64, 64).steps(4).guidance(5).seed(3);
                GeneratedImages a = single.generate(r), b = folder.generate(r);
                assertArrayEquals(b.latents().data(), a.latents().data(), 0f, "final latents, negative prompt " + negative);
                assertArrayEquals(b.pixels().data(), a.pixels().data(), 0f, "image, negative prompt " + negative);
            }
        }
    }
}
