package dev.unet4j.text;

import java.util.List;

/**
 * One prompt through a {@link ClipTokenizer}, as {@code tokenizer(prompt, padding="max_length",
 * max_length=model_max_length, truncation=True)} returns it to a diffusers pipeline. Arrays are fresh per call and
 * belong to the caller.
 *
 * @param tokens        the BPE and added tokens, without BOS/EOS ({@code tokenizer.tokenize(prompt)})
 * @param ids           {@code [bos] + ids + [eos]}, not truncated ({@code tokenizer(prompt).input_ids})
 * @param inputIds      {@code ids} truncated to {@code model_max_length} (the first {@code model_max_length - 2} ids,
 *                      then EOS) and right-padded with the pad token
 * @param attentionMask 1 on BOS..EOS, 0 on padding; same length as {@code inputIds}
 * @param truncated     whether {@code ids} was longer than {@code model_max_length}
 */
public record ClipEncoding(List<String> tokens, int[] ids, int[] inputIds, int[] attentionMask, boolean truncated) {
    public ClipEncoding {
        tokens = List.copyOf(tokens);
    }
}
