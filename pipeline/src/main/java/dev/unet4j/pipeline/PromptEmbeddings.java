package dev.unet4j.pipeline;

import dev.unet4j.samplers.guidance.TextConditioning;

import java.util.Objects;

/**
 * diffusers' {@code prompt_embeds} and {@code negative_prompt_embeds}: {@code [1, T, D]} each.
 *
 * @param prompt   the prompt's embeddings
 * @param negative the negative (or empty) prompt's, or null when no guidance runs
 */
public record PromptEmbeddings(TextConditioning prompt, TextConditioning negative) {
    public PromptEmbeddings {
        Objects.requireNonNull(prompt, "prompt");
        if (negative != null && !java.util.Arrays.equals(negative.shape(), prompt.shape())) {
            throw new IllegalArgumentException("negative prompt embeddings " + java.util.Arrays.toString(negative.shape())
                    + " differ in shape from the prompt's " + java.util.Arrays.toString(prompt.shape()));
        }
    }
}
