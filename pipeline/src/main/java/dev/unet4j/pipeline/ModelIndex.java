package dev.unet4j.pipeline;

import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A diffusers pipeline folder's {@code model_index.json}: the pipeline class and, per component folder, the
 * {@code [library, class]} pair (null pairs, such as a removed safety checker, mean "absent").
 *
 * @param folder     the pipeline folder
 * @param className  {@code _class_name}, e.g. {@code StableDiffusionPipeline}
 * @param components component name to its {@code [library, class]}, absent ones left out
 * @param forceZerosForEmptyPrompt SDXL's {@code force_zeros_for_empty_prompt} (default true): without a negative
 *                   prompt the negative embeddings are zeros
 * @param requiresAestheticsScore SDXL img2img/inpaint's {@code requires_aesthetics_score} (default false): the
 *                   {@code add_time_ids} end with an aesthetic score instead of the target size
 */
public record ModelIndex(Path folder, String className, Map<String, Component> components, boolean forceZerosForEmptyPrompt,
                         boolean requiresAestheticsScore) {
    /** Pipelines whose folders this module runs (img2img and inpaint folders are the same layout). */
    public static final Set<String> SUPPORTED = Set.of("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline",
            "StableDiffusionInpaintPipeline", "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline",
            "StableDiffusionXLInpaintPipeline");
    /** The SDXL pipeline classes (two text encoders, text-time conditioning; the folders share one layout). */
    public static final Set<String> XL = Set.of("StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline",
            "StableDiffusionXLInpaintPipeline");

    /** One component entry: the Python library and class diffusers instantiates. */
    public record Component(String library, String className) {
    }

    public ModelIndex {
        components = Map.copyOf(components);
    }

    /** Reads {@code folder/model_index.json}. */
    public static ModelIndex load(Path folder) throws IOException {
        Path file = folder.resolve("model_index.json");
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "not a diffusers pipeline folder (no model_index.json)");
        }
        try {
            return read(folder, DiffusersConfig.load(file), file);
        } catch (ConfigException e) {
            throw new ModelException(e.getMessage(), e);
        }
    }

    private static ModelIndex read(Path folder, DiffusersConfig index, Path file) throws ModelException {
        String cls = index.getStringOrNull("_class_name", null);
        if (cls == null) throw new ModelException(file + ": no _class_name string");
        Map<String, Component> comps = new LinkedHashMap<>();
        for (String key : index.keys()) {
            if (key.startsWith("_") || !index.isList(key)) continue; // requires_safety_checker, force_zeros_for_empty_prompt, ...
            List<String> pair = index.getNullableStringTuple(key, 2); // [library, class]
            if (pair.get(0) == null || pair.get(1) == null) continue;
            comps.put(key, new Component(pair.get(0), pair.get(1)));
        }
        return new ModelIndex(folder, cls, comps, index.getBoolean("force_zeros_for_empty_prompt", true),
                index.getBoolean("requires_aesthetics_score", false));
    }

    /** Whether this is an SDXL pipeline (two text encoders, text-time conditioning). */
    public boolean isXl() {
        return XL.contains(className);
    }

    /** The component's class, or null when the folder has none. */
    public String classOf(String component) {
        Component c = components.get(component);
        return c == null ? null : c.className();
    }

    /**
     * Throws one exception listing everything this module cannot run: an unsupported pipeline class, missing or
     * unsupported components, missing component folders.
     */
    public void requireStableDiffusion() throws IOException {
        List<String> problems = new ArrayList<>();
        if (!SUPPORTED.contains(className)) {
            problems.add("pipeline class " + className + " is not supported (supported: " + String.join(", ", SUPPORTED.stream().sorted().toList()) + ")");
        }
        expect(problems, "tokenizer", "CLIPTokenizer", "CLIPTokenizerFast");
        expect(problems, "text_encoder", "CLIPTextModel", "CLIPTextModelWithProjection");
        expect(problems, "unet", "UNet2DConditionModel");
        if (isXl()) {
            expect(problems, "tokenizer_2", "CLIPTokenizer", "CLIPTokenizerFast");
            expect(problems, "text_encoder_2", "CLIPTextModelWithProjection");
        }
        expect(problems, "vae", "AutoencoderKL");
        if (components.get("scheduler") == null) problems.add("no scheduler component");
        if (!problems.isEmpty()) {
            throw new IOException(folder.resolve("model_index.json") + ": cannot run this pipeline:\n  - "
                    + String.join("\n  - ", problems));
        }
    }

    private void expect(List<String> problems, String name, String... classes) {
        Component c = components.get(name);
        if (c == null) {
            problems.add("no " + name + " component");
            return;
        }
        if (!List.of(classes).contains(c.className())) {
            problems.add(name + " is " + c.className() + ", expected " + String.join(" or ", classes));
        }
        if (!Files.isDirectory(folder.resolve(name))) problems.add("component folder " + name + "/ is missing");
    }
}
