package dev.unet4j.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * The job-wide settings of a {@link Unet4jGenerator} as shipped to the executors (the Transformer itself stays on the
 * driver).
 *
 * @param modelPath       diffusers pipeline folder ({@code model_index.json}: text-to-image) or UNet folder
 *                        (class-conditional), a path every executor sees (or a name shipped with {@code --files}, resolved
 *                        through {@code SparkFiles})
 * @param sampler         sampler name ({@code ddim}, {@code euler}, ...; see {@code Samplers.NAMES}); null = the model's
 *                        scheduler config
 * @param steps           inference steps of rows without their own {@code steps}
 * @param guidance        classifier-free guidance scale of rows without their own {@code guidance}
 * @param cachePolicy     feature-cache policy in the caching module's text form ({@code none}, {@code deepcache:interval=3})
 * @param quantization    UNet weight quantization ({@code fp32}, {@code bf16}, {@code int8}, ...); null = as stored
 * @param strength        img2img strength for rows with an {@code init_image}
 * @param nullClass       class-conditional models: the unconditional label for guidance; -1 = {@code num_class_embeds - 1}
 * @param batchSize       class-conditional rows of equal settings generated in one UNet batch (1 = row by row)
 * @param truncatePrompts true: prompts longer than the tokenizer's window are cut as diffusers does; false: such a row
 *                        gets an error
 */
record GeneratorSettings(String modelPath, String sampler, int steps, double guidance, String cachePolicy,
                         String quantization, double strength, int nullClass, int batchSize, boolean truncatePrompts)
        implements Serializable {

    GeneratorSettings {
        Objects.requireNonNull(modelPath, "modelPath");
        if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        if (batchSize < 1) throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
    }

    /** What a loaded model depends on: the same key shares one model per JVM. */
    ModelKey key() {
        return new ModelKey(modelPath, cachePolicy, quantization);
    }
}
