package dev.unet4j.text;

/**
 * A prompt longer than one CLIP context, encoded the way AUTOMATIC1111's webui and compel do: the token ids are cut
 * into windows of {@code model_max_length - 2} (75) and each window becomes its own row {@code [bos] + window + [eos]},
 * right-padded with the pad token. The text encoder runs on every row and the pipeline concatenates the rows' hidden
 * states along the token axis. An empty prompt gives one row. Arrays belong to the caller.
 *
 * @param inputIds      {@code [chunks][model_max_length]}
 * @param attentionMask {@code [chunks][model_max_length]}: 1 on BOS..EOS, 0 on padding
 * @param weights       {@code [chunks][model_max_length]}: the emphasis weight of each token (1 for BOS, EOS, padding
 *                      and unweighted text); see {@link PromptWeights}
 */
public record ClipChunks(int[][] inputIds, int[][] attentionMask, float[][] weights) {
    public int count() {
        return inputIds.length;
    }
}
