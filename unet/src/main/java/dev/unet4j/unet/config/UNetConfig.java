package dev.unet4j.unet.config;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.UnsupportedConfigException;

import java.util.List;

/**
 * The typed config of a diffusers UNet: what callers outside the model need to know about it (its inputs' shapes
 * and conditioning), common to both classes. Read once from the checkpoint's {@code config.json} by {@link #of}.
 */
public sealed interface UNetConfig permits UNet2DConfig, UNet2DConditionConfig {
    /** The config of {@code c}'s {@code _class_name}: {@code UNet2DModel} or {@code UNet2DConditionModel}. */
    static UNetConfig of(DiffusersConfig c) {
        String cls = c.className();
        if (UNet2DConfig.CLASS_NAME.equals(cls)) return UNet2DConfig.from(c);
        if (UNet2DConditionConfig.CLASS_NAME.equals(cls)) return UNet2DConditionConfig.from(c);
        throw new UnsupportedConfigException(c.source() + ": _class_name " + cls + " is not UNet2DModel or UNet2DConditionModel");
    }

    /** diffusers' class name, {@code _class_name}. */
    String className();

    /** {@code sample_size}, or null when the config has none. */
    SampleSize sampleSize();

    int inChannels();

    int outChannels();

    int[] blockOutChannels();

    List<String> downBlockTypes();

    List<String> upBlockTypes();

    double normEps();

    /** {@code class_embed_type} (null: a plain embedding table when {@code num_class_embeds} is set). */
    String classEmbedType();

    /** {@code num_class_embeds}, or null. */
    Integer numClassEmbeds();

    /** Width of the text embeddings ({@code encoder_hidden_states}) the UNet cross-attends to: {@code cross_attention_dim} (its first entry), 0 for none. */
    int textEmbeddingDim();

    /** Number of integer class labels the model takes (a plain {@code num_class_embeds} table), else 0. */
    default int classLabelCount() {
        Integer n = numClassEmbeds();
        return n != null && classEmbedType() == null ? n : 0;
    }
}
