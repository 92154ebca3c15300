package dev.unet4j.pipeline;

/**
 * How a prompt becomes text-encoder input.
 * <ul>
 *   <li>{@link #TRUNCATE}: diffusers' {@code encode_prompt}: one {@code model_max_length} (77) row, longer prompts cut
 *       (the default, diffusers' numbers);</li>
 *   <li>{@link #LONG}: compel's long prompts: the token ids cut into windows of 75, each window encoded as its own row
 *       {@code [bos] + window + [eos]} (padded), the rows' embeddings concatenated along the tokens; brackets are
 *       plain text;</li>
 *   <li>{@link #WEIGHTED}: AUTOMATIC1111's webui: the same windows, built by its {@code tokenize_line} (a window that
 *       fills up within 20 tokens after a comma ends at the comma, {@code BREAK} starts a new window), and its emphasis
 *       {@code (word)} = x1.1, {@code [word]} = /1.1, {@code (word:1.3)}, {@code \(} literal: each token's embedding
 *       row times its weight, then the window rescaled to its original mean.</li>
 * </ul>
 * With {@link #LONG} and {@link #WEIGHTED} the prompt and the negative prompt are padded to the same number of
 * windows with the empty prompt's embeddings, as compel (and A1111 with {@code pad_cond_uncond}) pad them.
 */
public enum PromptSyntax {
    TRUNCATE, LONG, WEIGHTED
}
