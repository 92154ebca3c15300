package dev.unet4j.pipeline;

import dev.unet4j.samplers.guidance.TextConditioning;

import java.util.Objects;

/**
 * diffusers' {@code prompt_embeds} and {@code negative_prompt_embeds}: {@code [1, T, D]} each; for SDXL also
 * {@code pooled_prompt_embeds} and {@code negative_pooled_prompt_embeds} ({@code [1, P]}).
 *
 * @param prompt         the prompt's embeddings
 * @param negative       the negative (or empty) prompt's, or null when no guidance runs
 * @param pooled         SDXL: the prompt's pooled {@code text_embeds}, else null
 * @param negativePooled SDXL: the negative prompt's pooled embeddings (zeros for an absent negative prompt when the
 *                       pipeline forces zeros), or null
 */
public record PromptEmbeddings(TextConditioning prompt, TextConditioning negative, float[] pooled, float[] negativePooled) {
    public PromptEmbeddings {
        Objects.requireNonNull(prompt, "prompt");
        if (negative != null && !java.util.Arrays.equals(negative.shape(), prompt.shape())) {
            throw new IllegalArgumentException("negative prompt embeddings " + java.util.Arrays.toString(negative.shape())
                    + " differ in shape from the prompt's " + java.util.Arrays.toString(prompt.shape()));
        }
        if (pooled != null && negativePooled != null && pooled.length != negativePooled.length) {
            throw new IllegalArgumentException("pooled embeddings of " + pooled.length + " and " + negativePooled.length + " values");
        }
    }

    /** SD 1.x/2.x embeddings (no pooled ones). */
    public PromptEmbeddings(TextConditioning prompt, TextConditioning negative) {
        this(prompt, negative, null, null);
    }
}
