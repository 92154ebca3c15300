package dev.unet4j.text;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.text.nn.ClipTextTransformer;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.nn.Pass;
import dev.unet4j.unet.nn.Weights;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * transformers' {@code CLIPTextModel}: the text encoder of a Stable Diffusion pipeline ({@code text_encoder/}).
 * {@link #load} returns a {@link ClipTextModelWithProjection} when the config's {@code architectures} name it or the
 * checkpoint holds {@code text_projection.weight} (SD 2.x-style OpenCLIP encoders and SDXL's {@code text_encoder_2}).
 *
 * <p>Modules are built from the checkpoint keys ({@code text_model.encoder.layers.3.self_attn.q_proj}); every
 * missing, mis-shaped or unexpected tensor is reported in one {@link dev.unet4j.unet.WeightMismatchException}
 * ({@code text_model.embeddings.position_ids}, a buffer some files store, is ignored). F32, F16 and BF16 checkpoints
 * are decoded to float32. Runs on any {@link Kernels}. The model is immutable and thread-safe; each {@link #encode}
 * uses its own workspace. Close it to free the weights.
 */
public class ClipTextModel implements AutoCloseable {
    /** Largest batch one call accepts. */
    public static final int MAX_BATCH = 4096;
    private static final String POSITION_IDS = "text_model.embeddings.position_ids";

    private final ClipTextConfig config;
    private final Kernels kernels;
    private final ClipTextTransformer transformer;
    private final Weights.Resources resources;
    private final String source;
    private volatile boolean closed;

    ClipTextModel(ClipTextConfig config, Kernels kernels, ClipTextTransformer transformer, Weights.Resources resources, String source) {
        this.config = config;
        this.kernels = kernels;
        this.transformer = transformer;
        this.resources = resources;
        this.source = source;
    }

    /** Loads {@code config.json} and {@code model.safetensors} of a text encoder folder onto {@code kernels}. */
    public static ClipTextModel load(Path textEncoderDir, Kernels kernels) throws IOException {
        return load(textEncoderDir, LoadOptions.of(kernels));
    }

    /**
     * Loads a text encoder folder with {@code options}: the kernels, the weight variant ({@code "fp16"} reads
     * {@code model.fp16.safetensors}) and the layer factory (quantization).
     */
    public static ClipTextModel load(Path textEncoderDir, LoadOptions options) throws IOException {
        ClipTextConfig config = ClipTextConfig.load(textEncoderDir.resolve(TextEncoderFiles.CONFIG));
        try (WeightSource weights = WeightSource.open(TextEncoderFiles.weights(textEncoderDir, options.variant()))) {
            return build(config, ParameterSource.of(weights), textEncoderDir.toString(), options);
        }
    }

    /**
     * Builds from a config and any parameter source. With projection when the config declares
     * {@code CLIPTextModelWithProjection} or {@code source} holds {@code text_projection.weight}.
     */
    public static ClipTextModel build(ClipTextConfig config, ParameterSource source, String sourceName, LoadOptions options) {
        ParameterSource filtered = withoutPositionIds(source);
        boolean projected = config.declaresProjection() || filtered.names().contains("text_projection.weight");
        Weights weights = new Weights(filtered, sourceName, options.factory());
        ClipTextTransformer transformer = weights.build(w -> new ClipTextTransformer(w.root(), config.vocabSize(),
                config.hiddenSize(), config.numHiddenLayers(), config.numAttentionHeads(), config.intermediateSize(),
                config.maxPositionEmbeddings(), config.activation(), config.layerNormEps(),
                projected ? config.projectionDim() : 0, config.eosTokenId()));
        Weights.Resources resources = weights.finish();
        return projected ? new ClipTextModelWithProjection(config, options.kernels(), transformer, resources, sourceName)
                : new ClipTextModel(config, options.kernels(), transformer, resources, sourceName);
    }

    public ClipTextConfig config() {
        return config;
    }

    /** Whether {@link ClipTextOutput#textEmbeds()} is computed. */
    public boolean hasProjection() {
        return false;
    }

    /** Parameters loaded. */
    public long parameters() {
        return resources.parameters();
    }

    /** {@code model(input_ids, output_hidden_states=True)} without an attention mask (what SD pipelines call). */
    public ClipTextOutput encode(int[][] inputIds) {
        return encode(inputIds, null, true);
    }

    /** With a padding mask ({@code [B][T]} of 0/1, or null). */
    public ClipTextOutput encode(int[][] inputIds, int[][] attentionMask) {
        return encode(inputIds, attentionMask, true);
    }

    /**
     * One forward.
     *
     * @param inputIds         {@code [B][T]}, {@code 1 <= T <= max_position_embeddings}, ids in {@code 0..vocab_size-1}
     * @param attentionMask    {@code [B][T]} of 0/1 (0 drops that key for every query), or null for none
     * @param hiddenStates     also return every hidden state ({@link ClipTextOutput#hiddenStates()})
     */
    public ClipTextOutput encode(int[][] inputIds, int[][] attentionMask, boolean hiddenStates) {
        return encode(inputIds, attentionMask, hiddenStates, null);
    }

    /**
     * {@link #encode(int[][], int[][], boolean)} with this call's layers changed by {@code adapter} (a LoRA set; null =
     * none); the shared model is untouched.
     */
    public ClipTextOutput encode(int[][] inputIds, int[][] attentionMask, boolean hiddenStates, LayerAdapter adapter) {
        checkOpen();
        checkInputs(inputIds, attentionMask);
        try (Workspace ws = kernels.newWorkspace(Allocator.direct())) {
            ws.attributes().put(LayerAdapter.class, adapter);
            Pass p = new Pass(kernels, ws, 0, null, null, null, null);
            ClipTextTransformer.Result r = transformer.forward(p, inputIds, attentionMask, hiddenStates);
            p.finish();
            return new ClipTextOutput(r.lastHiddenState(), r.hiddenStates(), r.pooled(), r.projected());
        }
    }

    /**
     * A long prompt's {@code prompt_embeds} the way AUTOMATIC1111 builds them: every window of {@code chunks} through
     * the encoder ({@code last_hidden_state}), with {@code emphasis} each token's row multiplied by its weight and the
     * window rescaled so that its mean is unchanged (A1111's "Original" emphasis), the windows concatenated along the
     * tokens.
     *
     * @return {@code [1, chunks * T, C]}, owned by the caller
     */
    public Tensor encodeChunks(ClipChunks chunks, boolean emphasis) {
        if (chunks == null || chunks.count() == 0) throw new IllegalArgumentException("no chunks to encode");
        try (ClipTextOutput out = encode(chunks.inputIds(), null, false)) {
            Tensor z = out.lastHiddenState();                                  // [n, T, C]
            int n = (int) z.dim(0), t = (int) z.dim(1), c = (int) z.dim(2);
            float[] v = z.toFloatArray();
            if (emphasis) {
                for (int i = 0; i < n; i++) PromptWeights.emphasize(v, i * t * c, t, c, chunks.weights()[i]);
            }
            Tensor joined = Tensor.allocate(Allocator.direct(), 1, (long) n * t, c); // [1, n*T, C]
            joined.setFrom(v);
            return joined;
        }
    }

    /**
     * {@code final_layer_norm} of a hidden state {@code [B, T, C]} (borrowed), for "CLIP skip": diffusers' SD pipelines
     * with {@code clip_skip = k} use {@code final_layer_norm(hidden_states[-(k + 1)])}.
     */
    public Tensor finalLayerNorm(Tensor hidden) {
        checkOpen();
        if (hidden.rank() != 3 || hidden.dim(2) != config.hiddenSize()) {
            throw new IllegalArgumentException("finalLayerNorm: expected [B, T, " + config.hiddenSize() + "], got " + hidden);
        }
        try (Workspace ws = kernels.newWorkspace(Allocator.direct())) {
            return transformer.finalLayerNorm(new Pass(kernels, ws, 0, null, null, null, null), hidden);
        }
    }

    /**
     * The token position whose final hidden state is the pooled output: {@code argmax(ids)} for legacy configs
     * ({@code eos_token_id == 2}, the first EOS of tokenizer output), else the first {@code eos_token_id} (0 if none) —
     * transformers 4.4x's rule.
     */
    public int poolingPosition(int[] ids) {
        return transformer.poolingPosition(ids);
    }

    private void checkInputs(int[][] ids, int[][] mask) {
        if (ids == null || ids.length == 0) throw new IllegalArgumentException("input_ids must hold at least one row");
        if (ids.length > MAX_BATCH) throw new IllegalArgumentException("input_ids has " + ids.length + " rows; at most " + MAX_BATCH + " per call");
        if (ids[0] == null) throw new IllegalArgumentException("input_ids[0] is null");
        int t = ids[0].length;
        if (t < 1 || t > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("input_ids rows have " + t + " tokens; the text encoder takes 1.." + config.maxPositionEmbeddings()
                    + " (split longer prompts with ClipTokenizer.encodeChunked)");
        }
        if (mask != null && mask.length != ids.length) {
            throw new IllegalArgumentException("attention_mask has " + mask.length + " rows, input_ids " + ids.length);
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == null || ids[i].length != t) {
                throw new IllegalArgumentException("input_ids row " + i + " has " + (ids[i] == null ? "no" : ids[i].length) + " tokens, row 0 has " + t);
            }
            for (int j = 0; j < t; j++) {
                if (ids[i][j] < 0 || ids[i][j] >= config.vocabSize()) {
                    throw new IllegalArgumentException("input_ids[" + i + "][" + j + "] = " + ids[i][j] + " is outside the vocabulary 0.."
                            + (config.vocabSize() - 1));
                }
            }
            if (mask == null) continue;
            if (mask[i] == null || mask[i].length != t) throw new IllegalArgumentException("attention_mask row " + i + " must have " + t + " entries");
            for (int j = 0; j < t; j++) {
                if (mask[i][j] != 0 && mask[i][j] != 1) {
                    throw new IllegalArgumentException("attention_mask[" + i + "][" + j + "] = " + mask[i][j] + ", expected 0 or 1");
                }
            }
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("text encoder " + source + " is closed");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        resources.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + source + ", " + config.numHiddenLayers() + " layers, width " + config.hiddenSize() + ")";
    }

    private static ParameterSource withoutPositionIds(ParameterSource source) {
        if (!source.names().contains(POSITION_IDS)) return source;
        Set<String> names = new LinkedHashSet<>(source.names());
        names.remove(POSITION_IDS);
        Set<String> kept = Set.copyOf(names);
        return new ParameterSource() {
            @Override
            public Tensor load(String name, long[] expectedShape) {
                return name.equals(POSITION_IDS) ? null : source.load(name, expectedShape);
            }

            @Override
            public Set<String> names() {
                return kept;
            }

            @Override
            public long[] shapeOf(String name) {
                return source.shapeOf(name);
            }
        };
    }
}
