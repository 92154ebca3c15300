package dev.unet4j.pipeline;

import dev.unet4j.core.io.Float16;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A tiny SDXL pipeline folder for tests: sd-pipeline-tiny's tokenizer, text encoder (32 wide) and VAE; the fixture
 * CLIPTextModelWithProjection (16 wide, 24-dim projection) with a "!"-padding tokenizer as the second pair; a seeded
 * text_time UNet (cross_attention_dim 48 = 32 + 16); Euler. Every weight is an F16 value (the UNet's seeded weights
 * and the second text encoder's are rounded to F16 once), so an F16 single file of it holds the same numbers.
 */
final class TinySdxl {
    private TinySdxl() {
    }

    /** Writes the folder under {@code dir}/sdxl-tiny and returns it. */
    static Path make(Path dir) throws IOException {
        Path tiny = Fixture.pipeline();
        Path pipe = Files.createDirectories(dir.resolve("sdxl-tiny"));
        copy(tiny.resolve("tokenizer"), pipe.resolve("tokenizer"));
        copy(tiny.resolve("tokenizer"), pipe.resolve("tokenizer_2"));
        Path pad = Fixtures.fixture("clip-tokenizer/pad-exclamation");
        for (String f : new String[] {"special_tokens_map.json", "tokenizer_config.json"}) {
            Files.copy(pad.resolve(f), pipe.resolve("tokenizer_2").resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        copy(tiny.resolve("text_encoder"), pipe.resolve("text_encoder"));
        Path te2 = Fixtures.fixture("clip-text-encoder-tiny/with-projection");
        Files.createDirectories(pipe.resolve("text_encoder_2"));
        Files.copy(te2.resolve("config.json"), pipe.resolve("text_encoder_2/config.json"));
        SafetensorsWriter w2 = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(te2.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                try (Tensor t = f.load(n)) {
                    w2.add(n, toF16Values(t.toFloatArray()), t.shape());
                }
            }
        }
        w2.write(pipe.resolve("text_encoder_2/model.safetensors"));
        copy(tiny.resolve("vae"), pipe.resolve("vae"));
        Files.createDirectories(pipe.resolve("scheduler"));
        Files.writeString(pipe.resolve("scheduler/scheduler_config.json"), """
                {"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085,
                 "beta_end": 0.012, "num_train_timesteps": 1000, "steps_offset": 1, "timestep_spacing": "leading",
                 "prediction_type": "epsilon"}""");
        String unetConfig = Files.readString(tiny.resolve("unet/config.json"))
                .replaceFirst("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 48")
                .replaceFirst("\"addition_embed_type\": null", "\"addition_embed_type\": \"text_time\"")
                .replaceFirst("\"addition_time_embed_dim\": null", "\"addition_time_embed_dim\": 8")
                .replaceFirst("\"projection_class_embeddings_input_dim\": null", "\"projection_class_embeddings_input_dim\": 72");
        Files.createDirectories(pipe.resolve("unet"));
        Files.writeString(pipe.resolve("unet/config.json"), unetConfig);
        // seeded weights of every tensor the model asks for, written as its checkpoint
        Map<String, Tensor> made = new LinkedHashMap<>();
        RandomParameterSource random = new RandomParameterSource(77);
        ParameterSource recording = new ParameterSource() {
            @Override
            public Tensor load(String name, long[] shape) {
                Tensor t = random.load(name, shape);
                if (t != null) made.put(name, t.copy(Allocator.direct()));
                return t;
            }

            @Override
            public Set<String> names() {
                return Set.of();
            }
        };
        UNet2DConditionConfig cfg = UNet2DConditionConfig.fromJson(unetConfig);
        try (UNetModel m = UNet2DConditionModel.build(cfg, recording, "seeded", LoadOptions.of(new ReferenceKernels()))) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (Map.Entry<String, Tensor> e : made.entrySet()) w.add(e.getKey(), toF16Values(e.getValue().toFloatArray()), e.getValue().shape());
            w.write(pipe.resolve("unet/diffusion_pytorch_model.safetensors"));
        } finally {
            made.values().forEach(Tensor::close);
        }
        Files.writeString(pipe.resolve("model_index.json"), """
                {"_class_name": "StableDiffusionXLPipeline", "force_zeros_for_empty_prompt": true,
                 "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                 "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"],
                 "tokenizer_2": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                 "vae": ["diffusers", "AutoencoderKL"]}""");
        return pipe;
    }

    /** The folder's configs and tokenizers without any weights (a {@code --config} folder for a single file). */
    static Path configsOnly(Path pipe, Path to) throws IOException {
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

    private static float[] toF16Values(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float16.toFloat(Float16.fromFloat(v[i]));
        return out;
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path f : s.toList()) if (Files.isRegularFile(f)) Files.copy(f, to.resolve(f.getFileName()));
        }
    }
}
