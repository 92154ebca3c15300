package dev.unet4j.samplers.guidance;

import java.util.Arrays;
import java.util.Objects;

/**
 * SDXL's conditioning (diffusers' {@code addition_embed_type: "text_time"}): {@code encoder_hidden_states} plus
 * {@code added_cond_kwargs} — the pooled {@code text_embeds} {@code [B, P]} and the {@code time_ids} {@code [B, 6]}
 * (original size, crop top-left, target size).
 */
public record TextTimeConditioning(TextConditioning text, float[] textEmbeds, int pooledDim, float[] timeIds, int timeIdsDim)
        implements Conditioning {
    public TextTimeConditioning {
        Objects.requireNonNull(text, "text");
        int b = text.batchSize();
        if (textEmbeds.length != b * pooledDim) {
            throw new IllegalArgumentException("text_embeds has " + textEmbeds.length + " values for " + b + " x " + pooledDim);
        }
        if (timeIds.length != b * timeIdsDim) {
            throw new IllegalArgumentException("time_ids has " + timeIds.length + " values for " + b + " x " + timeIdsDim);
        }
    }

    @Override
    public int batchSize() {
        return text.batchSize();
    }

    @Override
    public Conditioning concat(Conditioning other) {
        if (!(other instanceof TextTimeConditioning t) || t.pooledDim != pooledDim || t.timeIdsDim != timeIdsDim) {
            throw new IllegalArgumentException("cannot stack " + this + " with " + other);
        }
        float[] e = Arrays.copyOf(textEmbeds, textEmbeds.length + t.textEmbeds.length);
        System.arraycopy(t.textEmbeds, 0, e, textEmbeds.length, t.textEmbeds.length);
        float[] ids = Arrays.copyOf(timeIds, timeIds.length + t.timeIds.length);
        System.arraycopy(t.timeIds, 0, ids, timeIds.length, t.timeIds.length);
        return new TextTimeConditioning((TextConditioning) text.concat(t.text), e, pooledDim, ids, timeIdsDim);
    }

    @Override
    public String toString() {
        return "TextTimeConditioning" + Arrays.toString(text.shape()) + "+[" + batchSize() + ", " + pooledDim + "]+[" + batchSize()
                + ", " + timeIdsDim + "]";
    }
}
