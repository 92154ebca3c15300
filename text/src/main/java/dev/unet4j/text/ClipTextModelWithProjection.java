package dev.unet4j.text;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.text.nn.ClipTextTransformer;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.nn.Weights;

import java.io.IOException;
import java.nio.file.Path;

/**
 * transformers' {@code CLIPTextModelWithProjection}: a {@link ClipTextModel} whose output also carries
 * {@code text_embeds = text_projection(pooled_output)} ({@code text_projection.weight} {@code [projection_dim,
 * hidden_size]}, no bias) — SDXL's {@code text_encoder_2}, whose {@code text_embeds} are the UNet's pooled condition.
 */
public final class ClipTextModelWithProjection extends ClipTextModel {

    ClipTextModelWithProjection(ClipTextConfig config, Kernels kernels, ClipTextTransformer transformer, Weights.Resources resources, String source) {
        super(config, kernels, transformer, resources, source);
    }

    /** Loads a text encoder folder that must hold a projection. */
    public static ClipTextModelWithProjection load(Path textEncoderDir, Kernels kernels) throws IOException {
        return load(textEncoderDir, LoadOptions.of(kernels));
    }

    public static ClipTextModelWithProjection load(Path textEncoderDir, LoadOptions options) throws IOException {
        ClipTextModel m = ClipTextModel.load(textEncoderDir, options);
        if (m instanceof ClipTextModelWithProjection p) return p;
        m.close();
        throw new ModelException("text encoder " + textEncoderDir + " has no text_projection (config.json architectures "
                + m.config().architectures() + ", no text_projection.weight in the checkpoint)");
    }

    @Override
    public boolean hasProjection() {
        return true;
    }

    public int projectionDim() {
        return config().projectionDim();
    }
}
