package dev.unet4j.pipeline.checkpoint;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.pipeline.QuantizedLayers;
import dev.unet4j.pipeline.lora.LayerCatalog;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.text.ClipTextConfig;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTokenizer;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.vae.AutoencoderKL;
import dev.unet4j.vae.AutoencoderKLConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The components of a Stable Diffusion 1.x/2.x or SDXL pipeline built from one single file, as diffusers'
 * {@code StableDiffusionPipeline.from_single_file(path, config=DIR)} (and {@code StableDiffusionXLPipeline}'s): each
 * component's config comes from {@code configDir/<component>/config.json} when there is one, else from the
 * {@link BuiltinConfigs} of the detected {@link LdmModelType}; the tokenizers always come from
 * {@code configDir/tokenizer} (and {@code tokenizer_2} for SDXL: a single file holds none); a VAE or text encoder
 * the file lacks is read from {@code configDir}'s component folder. Every component that fails is reported in one
 * {@link ModelException}, what was built is freed.
 *
 * @param tokenizer2   SDXL's second tokenizer, else null
 * @param textEncoder2 SDXL's second text encoder ({@code conditioner.embedders.1}), else null
 * @param forceZerosForEmptyPrompt SDXL's {@code force_zeros_for_empty_prompt}: {@code configDir/model_index.json}'s,
 *                     else true (stable-diffusion-xl-base-1.0's)
 * @param sampleSize   the UNet's {@code sample_size} (latent side of the default image)
 * @param unetLayers   the UNet's conv/linear layers (LoRA targets)
 * @param textLayers   the (first) text encoder's
 */
public record SingleFileComponents(LdmModelType type, ClipTokenizer tokenizer, ClipTextModel textEncoder,
                                   ClipTokenizer tokenizer2, ClipTextModel textEncoder2, boolean forceZerosForEmptyPrompt,
                                   UNet2DConditionModel unet, Consumer<UNetSession> sessionSetup, AutoencoderKL vae,
                                   SchedulerConfig scheduler, int sampleSize, LayerCatalog unetLayers,
                                   LayerCatalog textLayers) implements AutoCloseable {

    /**
     * @param configDir a diffusers pipeline folder (or any folder with some of {@code tokenizer/}, {@code unet/},
     *                  {@code vae/}, {@code text_encoder/}, {@code scheduler/}); null = built-in configs only,
     *                  which fails for lack of a tokenizer
     * @param quant     the UNet's weight quantization, or null (fixed schemes only)
     */
    public static SingleFileComponents load(Path file, Path configDir, Kernels kernels, QuantSpec quant) throws IOException {
        try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file)) {
            return load(ckpt, configDir, kernels, quant);
        }
    }

    static SingleFileComponents load(SingleFileCheckpoint ckpt, Path configDir, Kernels kernels, QuantSpec quant) throws IOException {
        LdmModelType type = ckpt.type();
        String name = ckpt.file().toString();
        if (type == LdmModelType.XL_REFINER || type == LdmModelType.XL_INPAINT) {
            throw new ModelException(ckpt + ": SDXL refiner and inpainting single files are not supported (SDXL base, SD 1.x "
                    + "and 2.x are)");
        }
        BuiltinConfigs builtin = BuiltinConfigs.of(type);
        List<String> problems = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        List<AutoCloseable> built = new ArrayList<>();
        ClipTokenizer tokenizer = null;
        ClipTokenizer tokenizer2 = null;
        ClipTextModel text = null;
        ClipTextModel text2 = null;
        boolean forceZeros = true;
        UNet2DConditionModel unet = null;
        AutoencoderKL vae = null;
        SchedulerConfig sched = null;
        int sample = 64;
        Consumer<UNetSession> setup = s -> { };
        LayerCatalog unetLayers = new LayerCatalog();
        LayerCatalog textLayers = new LayerCatalog();
        LoadOptions textOptions = LoadOptions.of(kernels).withLayerFactory(k -> textLayers.recording(LayerFactory.of(k)));
        Set<String> foreign = ckpt.foreignKeys();
        if (!foreign.isEmpty()) problems.add("keys of no component: " + SingleFileCheckpoint.first(foreign, 20));
        try {
            tokenizer = tokenizer(configDir, "tokenizer", problems, causes);
            try {
                text = textEncoder(ckpt, configDir, "text_encoder", builtin.textEncoder(), textOptions);
                built.add(text);
            } catch (IOException | RuntimeException e) {
                problems.add("text encoder" + builtinNote(configDir, "text_encoder", type) + ": " + e.getMessage());
                causes.add(e);
            }
            if (type.xl()) {
                tokenizer2 = tokenizer(configDir, "tokenizer_2", problems, causes);
                try {
                    text2 = textEncoder(ckpt, configDir, "text_encoder_2", builtin.textEncoder2(), LoadOptions.of(kernels));
                    built.add(text2);
                } catch (IOException | RuntimeException e) {
                    problems.add("text encoder 2" + builtinNote(configDir, "text_encoder_2", type) + ": " + e.getMessage());
                    causes.add(e);
                }
                try {
                    Path index = configDir == null ? null : configDir.resolve("model_index.json");
                    if (index != null && Files.isRegularFile(index)) {
                        forceZeros = DiffusersConfig.load(index).getBoolean("force_zeros_for_empty_prompt", true);
                    }
                } catch (IOException | RuntimeException e) {
                    problems.add("model_index.json: " + e.getMessage());
                    causes.add(e);
                }
            }
            try {
                Path dir = component(configDir, "unet");
                String json = dir != null ? Files.readString(dir.resolve("config.json")) : builtin.unet();
                UNet2DConditionConfig c = UNet2DConditionConfig.fromJson(json);
                sample = DiffusersConfig.parse(json, "unet config").getInt("sample_size", 64);
                QuantizedLayers q = QuantizedLayers.of(quant, kernels);
                LoadOptions lo = LoadOptions.of(kernels).withLayerFactory(k -> unetLayers.recording(q.factory(k)));
                setup = q.sessionSetup();
                unet = UNet2DConditionModel.build(c, ckpt.unet(c), name + " (UNet)", lo);
                built.add(unet);
            } catch (IOException | RuntimeException e) {
                problems.add("UNet" + builtinNote(configDir, "unet", type) + ": " + e.getMessage());
                causes.add(e);
            }
            try {
                Path dir = component(configDir, "vae");
                AutoencoderKLConfig c = dir != null ? AutoencoderKLConfig.load(dir.resolve("config.json"))
                        : AutoencoderKLConfig.from(DiffusersConfig.parse(builtin.vae(), type.diffusersName() + " VAE (built in)"));
                vae = ckpt.hasVae() ? AutoencoderKL.build(c, ckpt.vae(c), name + " (VAE)", LoadOptions.of(kernels))
                        : AutoencoderKL.load(requireFolder(dir, "vae", ckpt), kernels);
                built.add(vae);
            } catch (IOException | RuntimeException e) {
                problems.add("VAE" + builtinNote(configDir, "vae", type) + ": " + e.getMessage());
                causes.add(e);
            }
            try {
                Path dir = configDir == null ? null : configDir.resolve("scheduler/scheduler_config.json");
                sched = dir != null && Files.isRegularFile(dir) ? SchedulerConfig.load(dir) : SchedulerConfig.parse(builtin.scheduler());
            } catch (RuntimeException e) {
                problems.add("scheduler: " + e.getMessage());
                causes.add(e);
            }
        } catch (Error e) {
            closeAll(built, e);
            throw e;
        }
        if (!problems.isEmpty()) {
            ModelException e = new ModelException(ckpt + " cannot be loaded (" + problems.size() + " problem"
                    + (problems.size() == 1 ? "" : "s") + "):\n  - " + String.join("\n  - ", problems));
            causes.forEach(e::addSuppressed);
            closeAll(built, e);
            throw e;
        }
        return new SingleFileComponents(type, tokenizer, text, tokenizer2, text2, forceZeros, unet, setup, vae, sched, sample,
                unetLayers, textLayers);
    }

    /** {@code configDir/<folder>}'s tokenizer, or null with the problem recorded (a single file holds none). */
    private static ClipTokenizer tokenizer(Path configDir, String folder, List<String> problems, List<Throwable> causes) {
        Path tok = configDir == null ? null : configDir.resolve(folder);
        if (tok == null || !Files.isDirectory(tok)) {
            problems.add(folder + ": a single file holds none; give a config folder with " + folder + "/ (vocab.json, "
                    + "merges.txt), e.g. the diffusers folder of the base model" + (tok == null ? "" : " (" + tok + " is missing)"));
            return null;
        }
        try {
            return ClipTokenizer.load(tok);
        } catch (IOException | RuntimeException e) {
            problems.add(folder + ": " + e.getMessage());
            causes.add(e);
            return null;
        }
    }

    /**
     * The text encoder {@code folder} ({@code text_encoder} or SDXL's {@code text_encoder_2}): its config from the
     * config folder or built in, its weights from the file's matching embedder, else from the config folder.
     */
    private static ClipTextModel textEncoder(SingleFileCheckpoint ckpt, Path configDir, String folder, String builtinJson,
                                             LoadOptions options) throws IOException {
        LdmModelType type = ckpt.type();
        Path dir = component(configDir, folder);
        ClipTextConfig c = dir != null ? ClipTextConfig.load(dir.resolve("config.json"))
                : ClipTextConfig.of(DiffusersConfig.parse(builtinJson, type.diffusersName() + " " + folder + " (built in)"));
        ParameterSource weights = !type.xl() ? (ckpt.hasTextEncoder() ? ckpt.textEncoder(c) : null)
                : folder.equals("text_encoder") ? ckpt.xlTextEncoder(c) : ckpt.xlTextEncoder2(c);
        String name = ckpt.file() + " (" + folder + ")";
        return weights != null ? ClipTextModel.build(c, weights, name, options)
                : ClipTextModel.load(requireFolder(dir, folder, ckpt), options);
    }

    /** Says where a failing component's sizes came from, so a model of other sizes knows to bring its configs. */
    private static String builtinNote(Path configDir, String name, LdmModelType type) {
        return component(configDir, name) != null ? " (config " + configDir.resolve(name).resolve("config.json") + ")"
                : " (sizes from the built-in " + type.diffusersName() + " config; a model of other sizes needs a config folder with "
                + name + "/config.json)";
    }

    private static Path component(Path configDir, String name) {
        if (configDir == null) return null;
        Path dir = configDir.resolve(name);
        return Files.isRegularFile(dir.resolve("config.json")) ? dir : null;
    }

    private static Path requireFolder(Path dir, String component, SingleFileCheckpoint ckpt) throws ModelException {
        if (dir == null) {
            throw new ModelException(ckpt.file() + " holds no " + component + " weights; give a config folder with " + component + "/");
        }
        return dir;
    }

    private static void closeAll(List<AutoCloseable> built, Throwable into) {
        for (int i = built.size() - 1; i >= 0; i--) {
            try {
                built.get(i).close();
            } catch (Exception s) {
                into.addSuppressed(s);
            }
        }
    }

    @Override
    public void close() {
        try {
            if (vae != null) vae.close();
        } finally {
            try {
                if (unet != null) unet.close();
            } finally {
                try {
                    if (textEncoder != null) textEncoder.close();
                } finally {
                    if (textEncoder2 != null) textEncoder2.close();
                }
            }
        }
    }
}
