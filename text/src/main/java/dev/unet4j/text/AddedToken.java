package dev.unet4j.text;

/**
 * A token the tokenizer never splits (transformers' {@code AddedToken}): the special tokens and any
 * {@code added_tokens_decoder} entry. Text is cut at added tokens before any other processing.
 *
 * @param content the literal text, non-empty
 * @param lstrip  whitespace left of it is removed from the neighbouring text
 * @param rstrip  whitespace right of it is removed from the neighbouring text
 */
public record AddedToken(String content, boolean lstrip, boolean rstrip) {
    public AddedToken {
        if (content == null || content.isEmpty()) throw new IllegalArgumentException("added token content must be non-empty");
    }

    /** A plain special token (transformers turns a string special token into one without stripping). */
    public static AddedToken of(String content) {
        return new AddedToken(content, false, false);
    }
}
