package dev.unet4j.pipeline;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.text.ClipChunks;
import dev.unet4j.text.ClipEncoding;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.text.ClipTokenizer;
import dev.unet4j.text.PromptWeights;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LoadOptions;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The text half of a Stable Diffusion 1.x/2.x pipeline, diffusers' {@code encode_prompt}: the prompt tokenized,
 * padded and truncated to {@code model_max_length}, run through the text encoder without an attention mask (SD
 * configs have no {@code use_attention_mask}); the result is {@code last_hidden_state}, or with {@code clip_skip = k}
 * {@code final_layer_norm(hidden_states[-(k + 1)])}. Long prompts and A1111 emphasis are options
 * ({@link PromptSyntax}). Thread-safe; owns the text encoder.
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
        return load(pipelineDir, "tokenizer", "text_encoder", LoadOptions.of(kernels));
    }

    /** As {@link #load(Path, Kernels)}, the text encoder built with {@code options} (a recording layer factory). */
    public static PromptEncoder load(Path pipelineDir, LoadOptions options) throws IOException {
        return load(pipelineDir, "tokenizer", "text_encoder", options);
    }

    /** Loads the named tokenizer and text encoder folders (SDXL's second pair: tokenizer_2, text_encoder_2). */
    public static PromptEncoder load(Path pipelineDir, String tokenizerFolder, String encoderFolder, Kernels kernels) throws IOException {
        return load(pipelineDir, tokenizerFolder, encoderFolder, LoadOptions.of(kernels));
    }

    /** As {@link #load(Path, String, String, Kernels)} with the text encoder's load options. */
    public static PromptEncoder load(Path pipelineDir, String tokenizerFolder, String encoderFolder, LoadOptions options) throws IOException {
        ClipTokenizer tokenizer = ClipTokenizer.load(pipelineDir.resolve(tokenizerFolder));
        return new PromptEncoder(tokenizer, ClipTextModel.load(pipelineDir.resolve(encoderFolder), options));
    }

    /**
     * SDXL's per-encoder part of {@code encode_prompt}: {@code hidden_states[-(clip_skip + 2)]} (the penultimate layer
     * without the final layer norm for clip_skip 0) and the pooled output ({@code text_embeds} of a
     * CLIPTextModelWithProjection, else {@code pooler_output}), {@code [1, P]}.
     */
    public Xl encodeXl(String prompt, int clipSkip) {
        return encodeXl(prompt, clipSkip, PromptSyntax.TRUNCATE);
    }

    /**
     * {@link #encodeXl(String, int)} under {@code syntax}: with windows, every window's hidden states (emphasized for
     * {@link PromptSyntax#WEIGHTED}) concatenated, the pooled output of the first window (as A1111 and compel).
     */
    public Xl encodeXl(String prompt, int clipSkip, PromptSyntax syntax) {
        int layers = model.config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip + 2 > layers + 1) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " is out of range for a " + layers + "-layer text encoder");
        }
        ClipChunks chunks = windows(prompt, syntax);
        try (ClipTextOutput out = model.encode(chunks.inputIds(), null, true)) {
            Tensor pooled = out.textEmbeds() != null ? out.textEmbeds() : out.pooledOutput();
            float[] first = java.util.Arrays.copyOf(pooled.toFloatArray(), (int) pooled.dim(1));
            return new Xl(joined(out.hiddenState(-(clipSkip + 2)), chunks, syntax), first);
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
        return encode(prompt, clipSkip, null);
    }

    /** {@link #encode(String, int)} with the text encoder's layers changed by {@code adapter} (LoRA; null = none). */
    public TextConditioning encode(String prompt, int clipSkip, LayerAdapter adapter) {
        return encode(prompt, clipSkip, adapter, PromptSyntax.TRUNCATE);
    }

    /**
     * {@code prompt_embeds} of one prompt under {@code syntax}: {@code [1, T, D]}, or {@code [1, windows * T, D]} for
     * long and weighted prompts (each window encoded as its own row, with {@code clipSkip} and {@code adapter}).
     */
    public TextConditioning encode(String prompt, int clipSkip, LayerAdapter adapter, PromptSyntax syntax) {
        return encodeRows(windows(prompt, syntax), clipSkip, adapter, syntax);
    }

    /** The rows the text encoder gets for {@code prompt}: one truncated row, or the windows of {@code syntax}. */
    public ClipChunks windows(String prompt, PromptSyntax syntax) {
        return windows(tokenizer, prompt, syntax);
    }

    /** {@link #windows(String, PromptSyntax)} with {@code tokenizer} alone (no text encoder needed). */
    public static ClipChunks windows(ClipTokenizer tokenizer, String prompt, PromptSyntax syntax) {
        return switch (syntax) {
            case TRUNCATE -> {
                ClipEncoding e = tokenizer.encode(prompt);
                float[] ones = new float[e.inputIds().length];
                java.util.Arrays.fill(ones, 1f);
                yield new ClipChunks(new int[][] {e.inputIds()}, new int[][] {e.attentionMask()}, new float[][] {ones});
            }
            case LONG -> tokenizer.encodeChunked(prompt);
            case WEIGHTED -> tokenizer.encodeWeighted(prompt);
        };
    }

    /** {@link #encode} from token ids (one row of {@code model_max_length} ids). */
    public TextConditioning encodeIds(int[] ids, int clipSkip) {
        return encodeIds(ids, clipSkip, null);
    }

    /** {@link #encodeIds(int[], int)} with a layer adapter (LoRA; null = none). */
    public TextConditioning encodeIds(int[] ids, int clipSkip, LayerAdapter adapter) {
        return encodeRows(new ClipChunks(new int[][] {ids}, new int[][] {new int[ids.length]}, null), clipSkip, adapter,
                PromptSyntax.TRUNCATE);
    }

    /** Every row through the encoder in one batch (rows are independent), joined along the tokens. */
    private TextConditioning encodeRows(ClipChunks rows, int clipSkip, LayerAdapter adapter, PromptSyntax syntax) {
        int layers = model.config().numHiddenLayers();
        if (clipSkip < 0 || clipSkip >= layers) {
            throw new IllegalArgumentException("clip_skip " + clipSkip + " must be in 0.." + (layers - 1) + " for a "
                    + layers + "-layer text encoder");
        }
        try (ClipTextOutput out = model.encode(rows.inputIds(), null, clipSkip > 0, adapter)) {
            if (clipSkip == 0) return joined(out.lastHiddenState(), rows, syntax);
            try (Tensor normed = model.finalLayerNorm(out.hiddenState(-(clipSkip + 1)))) {
                return joined(normed, rows, syntax);
            }
        }
    }

    /**
     * {@code [n, T, D]} as {@code [1, n * T, D]} (the same memory order: the windows one after the other), each window's
     * rows weighted by A1111's emphasis for {@link PromptSyntax#WEIGHTED}.
     */
    private static TextConditioning joined(Tensor hidden, ClipChunks rows, PromptSyntax syntax) {
        long[] s = hidden.shape();
        int n = (int) s[0], t = (int) s[1], d = (int) s[2];
        float[] v = hidden.toFloatArray();
        if (syntax == PromptSyntax.WEIGHTED) {
            for (int i = 0; i < n; i++) PromptWeights.emphasize(v, i * t * d, t, d, rows.weights()[i]);
        }
        return new TextConditioning(v, new int[] {1, n * t, d});
    }

    /**
     * The prompt's and the negative prompt's embeddings at the same length: the shorter one gets windows of
     * {@code empty} (the empty prompt's {@code [1, T, D]}) appended, as compel's
     * {@code pad_conditioning_tensors_to_same_length} (and A1111's {@code pad_cond} with {@code pad_cond_uncond}).
     */
    static TextConditioning[] padToSameLength(TextConditioning cond, TextConditioning uncond, TextConditioning empty) {
        int longest = Math.max(cond.shape()[1], uncond.shape()[1]);
        return new TextConditioning[] {padTo(cond, longest, empty), padTo(uncond, longest, empty)};
    }

    private static TextConditioning padTo(TextConditioning c, int tokens, TextConditioning empty) {
        int have = c.shape()[1], d = c.shape()[2], t = empty.shape()[1];
        if (have == tokens) return c;
        if ((tokens - have) % t != 0 || empty.shape()[2] != d) {
            throw new IllegalArgumentException("cannot pad embeddings " + java.util.Arrays.toString(c.shape()) + " to "
                    + tokens + " tokens with windows " + java.util.Arrays.toString(empty.shape()));
        }
        float[] out = java.util.Arrays.copyOf(c.data(), tokens * d);
        for (int at = have; at < tokens; at += t) System.arraycopy(empty.data(), 0, out, at * d, t * d);
        return new TextConditioning(out, new int[] {1, tokens, d});
    }

    @Override
    public void close() {
        model.close();
    }
}
