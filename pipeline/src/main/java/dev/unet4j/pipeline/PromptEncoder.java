package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.text.ClipEncoding;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.text.ClipTokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The text half of a Stable Diffusion 1.x/2.x pipeline, diffusers' {@code encode_prompt}: the prompt tokenized,
 * padded and truncated to {@code model_max_length}, run through the text encoder without an attention mask (SD
 * configs have no {@code use_attention_mask}); the result is {@code last_hidden_state}, or with {@code clip_skip = k}
 * {@code final_layer_norm(hidden_states[-(k + 1)])}. Thread-safe; owns the text encoder.
 */
public final class PromptEncoder implements AutoCloseable {
    private final ClipTokenizer tokenizer;
    private final ClipTextModel model;

    public PromptEncoder(ClipTokenizer tokenizer, ClipTextModel model) {
        this.tokenizer = tokenizer;
        this.model = model;
    }

    /** Loads a pipeline folder's {@code tokenizer/} and {@code text_encoder/}. */
    public static PromptEncoder load(Path pipelineDir, Kernels kernels) throws IOException {
        return load(pipelineDir, "tokenizer", "text_encoder", kernels);
    }

    /** Loads the named tokenizer and text encoder folders (SDXL's second pair: tokenizer_2, text_encoder_2). */
    public static PromptEncoder load(Path pipelineDir, String tokenizerFolder, String encoderFolder, Kernels kernels) throws IOException {
        ClipTokenizer tokenizer = ClipTokenizer.load(pipelineDir.resolve(tokenizerFolder));
        return new PromptEncoder(tokenizer, ClipTextModel.load(pipelineDir.resolve(encoderFolder), kernels));
    }

    /**
     * SDXL's per-encoder part of {@code encode_prompt}: {@code hidden_states[-(clip_skip + 2)]} (the penultimate layer
     * without the final layer norm for clip_skip 0) and the pooled output ({@code text_embeds} of a
     * CLIPTextModelWithProjection, else {@code pooler_output}), {@code [1, P]}.
     */
    public Xl encodeXl(String prompt, int clipSkip) {
        int layers = model.config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip + 2 > layers + 1) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " is out of range for a " + layers + "-layer text encoder");
        }
        int[] ids = tokenize(prompt).inputIds();
        try (ClipTextOutput out = model.encode(new int[][] {ids}, null, true)) {
            Tensor pooled = out.textEmbeds() != null ? out.textEmbeds() : out.pooledOutput();
            return new Xl(text(out.hiddenState(-(clipSkip + 2))), pooled.toFloatArray());
        }
    }

    /** One SDXL encoder's output: the hidden states it contributes and its pooled embeddings. */
    public record Xl(TextConditioning hidden, float[] pooled) {
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipTextModel textEncoder() {
        return model;
    }

    /** The tokens and the padded, truncated ids the text encoder gets. */
    public ClipEncoding tokenize(String prompt) {
        return tokenizer.encode(prompt);
    }

    /** {@code prompt_embeds} {@code [1, T, D]} of one prompt ({@code clipSkip} 0 = the final layer's output). */
    public TextConditioning encode(String prompt, int clipSkip) {
        int layers = model.config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip >= layers) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " must be in 0.." + (layers - 1) + " for a "
                    + layers + "-layer text encoder");
        }
        return encodeIds(tokenize(prompt).inputIds(), clipSkip);
    }

    /** {@link #encode} from token ids (one row of {@code model_max_length} ids). */
    public TextConditioning encodeIds(int[] ids, int clipSkip) {
        int layers = model.config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip >= layers) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " must be in 0.." + (layers - 1) + " for a "
                    + layers + "-layer text encoder");
        }
        try (ClipTextOutput out = model.encode(new int[][] {ids}, null, clipSkip > 0)) {
            if (clipSkip == 0) return text(out.lastHiddenState());
            try (Tensor normed = model.finalLayerNorm(out.hiddenState(-(clipSkip + 1)))) {
                return text(normed);
            }
        }
    }

    private static TextConditioning text(Tensor t) {
        long[] s = t.shape(); // [1, T, D]
        return new TextConditioning(t.toFloatArray(), new int[] {(int) s[0], (int) s[1], (int) s[2]});
    }

    @Override
    public void close() {
        model.close();
    }
}
