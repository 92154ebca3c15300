package dev.unet4j.text;

import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.text.nn.ClipActivation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * transformers' {@code CLIPTextConfig} (a text encoder's {@code config.json}), with its defaults for missing keys.
 *
 * @param vocabSize             {@code vocab_size}, default 49408
 * @param hiddenSize            {@code hidden_size}, default 512 (SD 1.x: 768, SD 2.x: 1024, SDXL encoder 2: 1280)
 * @param intermediateSize      {@code intermediate_size} (MLP width), default 2048
 * @param numHiddenLayers       {@code num_hidden_layers}, default 12
 * @param numAttentionHeads     {@code num_attention_heads}, default 8; must divide {@code hidden_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings} (longest input), default 77
 * @param hiddenAct             {@code hidden_act}, default {@code quick_gelu}; also {@code gelu} (erf),
 *                              {@code gelu_new} / {@code gelu_pytorch_tanh} (tanh approximation)
 * @param layerNormEps          {@code layer_norm_eps}, default 1e-5
 * @param projectionDim         {@code projection_dim} ({@code text_projection} output of the WithProjection model),
 *                              default 512
 * @param eosTokenId            {@code eos_token_id}, default 49407; 2 (old configs) selects the legacy pooling at
 *                              {@code argmax(input_ids)}
 * @param architectures         {@code architectures}, default empty
 * @param source                the file this came from (for messages), or a description
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                             int maxPositionEmbeddings, String hiddenAct, double layerNormEps, int projectionDim,
                             int eosTokenId, List<String> architectures, String source) {
    /** Upper bounds that keep a hostile config from sizing huge allocations before any weight is read. */
    static final int MAX_VOCAB = 1 << 24, MAX_WIDTH = 1 << 16, MAX_LAYERS = 1024, MAX_POSITIONS = 1 << 16;
    /** The legacy {@code eos_token_id} of old CLIP configs: pooling then takes the position of the largest id. */
    public static final int LEGACY_EOS_TOKEN_ID = 2;

    public ClipTextConfig {
        architectures = List.copyOf(architectures);
        range(source, "vocab_size", vocabSize, 1, MAX_VOCAB);
        range(source, "hidden_size", hiddenSize, 1, MAX_WIDTH);
        range(source, "intermediate_size", intermediateSize, 1, 4 * MAX_WIDTH);
        range(source, "num_hidden_layers", numHiddenLayers, 0, MAX_LAYERS);
        range(source, "num_attention_heads", numAttentionHeads, 1, hiddenSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ConfigException("config " + source + ": hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        range(source, "max_position_embeddings", maxPositionEmbeddings, 1, MAX_POSITIONS);
        range(source, "projection_dim", projectionDim, 1, MAX_WIDTH);
        if (!(layerNormEps > 0 && layerNormEps < 1)) {
            throw new ConfigException("config " + source + ": layer_norm_eps must be in (0, 1), got " + layerNormEps);
        }
        ClipActivation.of(hiddenAct, source);
    }

    /** Reads {@code config.json}. */
    public static ClipTextConfig load(Path configJson) throws IOException {
        return of(DiffusersConfig.load(configJson));
    }

    /** The typed view of a parsed config. */
    public static ClipTextConfig of(DiffusersConfig c) {
        return new ClipTextConfig(c.getInt("vocab_size", 49408), c.getInt("hidden_size", 512), c.getInt("intermediate_size", 2048),
                c.getInt("num_hidden_layers", 12), c.getInt("num_attention_heads", 8), c.getInt("max_position_embeddings", 77),
                c.getString("hidden_act", "quick_gelu"), c.getDouble("layer_norm_eps", 1e-5), c.getInt("projection_dim", 512),
                c.getInt("eos_token_id", 49407), c.getStringList("architectures", List.of()), c.source());
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** {@code architectures} names {@code CLIPTextModelWithProjection}. */
    public boolean declaresProjection() {
        return architectures.contains("CLIPTextModelWithProjection");
    }

    public ClipActivation activation() {
        return ClipActivation.of(hiddenAct, source);
    }

    private static void range(String source, String key, int v, int min, int max) {
        if (v < min || v > max) {
            throw new ConfigException("config " + source + ": " + key + " must be in " + min + ".." + max + ", got " + v);
        }
    }
}
