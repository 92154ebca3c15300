package dev.unet4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.checkpoint.ModelException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The settings of a {@code CLIPTokenizer} folder, from {@code tokenizer_config.json} overridden by
 * {@code special_tokens_map.json} (transformers' order). Both files are optional; a missing setting takes
 * {@code CLIPTokenizer.__init__}'s default.
 *
 * @param bosToken                {@code bos_token}, default {@code <|startoftext|>}
 * @param eosToken                {@code eos_token}, default {@code <|endoftext|>}
 * @param padToken                {@code pad_token}, default {@code <|endoftext|>} (SD 2.x / SDXL {@code tokenizer_2}:
 *                                {@code "!"}, which then never joins BPE)
 * @param unkToken                {@code unk_token}, default {@code <|endoftext|>}
 * @param additionalSpecialTokens {@code additional_special_tokens}, default none
 * @param addedTokens             {@code added_tokens_decoder} (id to token) of newer tokenizer configs, default none
 * @param modelMaxLength          {@code model_max_length}: the padded length; default 77 (CLIP's context), also when
 *                                the file holds transformers' "unset" value (about 1e30); range 2..
 *                                {@link #MAX_MODEL_MAX_LENGTH}
 */
public record ClipTokenizerConfig(AddedToken bosToken, AddedToken eosToken, AddedToken padToken, AddedToken unkToken,
                                  List<AddedToken> additionalSpecialTokens, Map<Integer, AddedToken> addedTokens,
                                  int modelMaxLength) {
    public static final String TOKENIZER_CONFIG = "tokenizer_config.json";
    public static final String SPECIAL_TOKENS_MAP = "special_tokens_map.json";
    public static final int DEFAULT_MODEL_MAX_LENGTH = 77;
    public static final int MAX_MODEL_MAX_LENGTH = 1 << 16;
    /** transformers writes {@code int(1e30)} for "no limit"; anything this large means the same. */
    private static final double UNSET_MODEL_MAX_LENGTH = 1e15;

    public ClipTokenizerConfig {
        if (bosToken == null || eosToken == null || padToken == null || unkToken == null) {
            throw new IllegalArgumentException("bos, eos, pad and unk tokens are required");
        }
        if (modelMaxLength < 2 || modelMaxLength > MAX_MODEL_MAX_LENGTH) {
            throw new IllegalArgumentException("model_max_length must be in 2.." + MAX_MODEL_MAX_LENGTH + ", got " + modelMaxLength);
        }
        additionalSpecialTokens = List.copyOf(additionalSpecialTokens);
        addedTokens = Map.copyOf(addedTokens);
    }

    /** The SD 1.x defaults. */
    public static ClipTokenizerConfig defaults() {
        return new ClipTokenizerConfig(AddedToken.of("<|startoftext|>"), AddedToken.of("<|endoftext|>"),
                AddedToken.of("<|endoftext|>"), AddedToken.of("<|endoftext|>"), List.of(), Map.of(), DEFAULT_MODEL_MAX_LENGTH);
    }

    /** Every special token in transformers' {@code all_special_tokens_extended} order (bos, eos, unk, pad, additional). */
    public List<AddedToken> specialTokens() {
        List<AddedToken> all = new ArrayList<>(List.of(bosToken, eosToken, unkToken, padToken));
        all.addAll(additionalSpecialTokens);
        return all;
    }

    /** Reads the two optional files of {@code dir}. */
    public static ClipTokenizerConfig read(Path dir) throws IOException {
        ClipTokenizerConfig d = defaults();
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("bos_token", d.bosToken);
        settings.put("eos_token", d.eosToken);
        settings.put("pad_token", d.padToken);
        settings.put("unk_token", d.unkToken);
        settings.put("additional_special_tokens", List.of());
        settings.put("added_tokens_decoder", Map.of());
        settings.put("model_max_length", d.modelMaxLength);
        for (String name : List.of(TOKENIZER_CONFIG, SPECIAL_TOKENS_MAP)) {
            Path file = dir.resolve(name);
            if (!Files.exists(file)) continue;
            JsonNode root = TokenizerFiles.readJson(file);
            if (!root.isObject()) throw new ModelException(file + " is not a JSON object");
            for (String key : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
                if (root.hasNonNull(key)) settings.put(key, token(root.get(key), file, key));
            }
            if (root.hasNonNull("additional_special_tokens")) {
                JsonNode list = root.get("additional_special_tokens");
                if (!list.isArray()) throw new ModelException(file + ": additional_special_tokens must be a list, got " + list);
                List<AddedToken> extra = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) extra.add(token(list.get(i), file, "additional_special_tokens[" + i + "]"));
                settings.put("additional_special_tokens", extra);
            }
            if (name.equals(TOKENIZER_CONFIG)) {
                if (root.hasNonNull("added_tokens_decoder")) settings.put("added_tokens_decoder", addedTokens(root.get("added_tokens_decoder"), file));
                if (root.hasNonNull("model_max_length")) settings.put("model_max_length", modelMaxLength(root.get("model_max_length"), file));
            }
        }
        @SuppressWarnings("unchecked")
        List<AddedToken> extra = (List<AddedToken>) settings.get("additional_special_tokens");
        @SuppressWarnings("unchecked")
        Map<Integer, AddedToken> added = (Map<Integer, AddedToken>) settings.get("added_tokens_decoder");
        return new ClipTokenizerConfig((AddedToken) settings.get("bos_token"), (AddedToken) settings.get("eos_token"),
                (AddedToken) settings.get("pad_token"), (AddedToken) settings.get("unk_token"), extra, added,
                (Integer) settings.get("model_max_length"));
    }

    /** A token given as a string or as an {@code AddedToken} object ({@code content}, {@code lstrip}, {@code rstrip}). */
    private static AddedToken token(JsonNode n, Path file, String key) throws ModelException {
        if (n.isTextual()) {
            if (n.asText().isEmpty()) throw new ModelException(file + ": " + key + " is an empty string");
            return AddedToken.of(n.asText());
        }
        if (n.isObject() && n.path("content").isTextual() && !n.get("content").asText().isEmpty()) {
            return new AddedToken(n.get("content").asText(), flag(n, "lstrip", file, key), flag(n, "rstrip", file, key));
        }
        throw new ModelException(file + ": " + key + " must be a non-empty string or an object with a non-empty \"content\", got " + n);
    }

    private static boolean flag(JsonNode n, String name, Path file, String key) throws ModelException {
        JsonNode f = n.get(name);
        if (f == null || f.isNull()) return false;
        if (!f.isBoolean()) throw new ModelException(file + ": " + key + "." + name + " must be true or false, got " + f);
        return f.asBoolean();
    }

    private static Map<Integer, AddedToken> addedTokens(JsonNode n, Path file) throws ModelException {
        if (!n.isObject()) throw new ModelException(file + ": added_tokens_decoder must be an object, got " + n.getNodeType());
        Map<Integer, AddedToken> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new ModelException(file + ": added_tokens_decoder key \"" + e.getKey() + "\" is not a token id");
            }
            if (id < 0) throw new ModelException(file + ": added_tokens_decoder key " + id + " is negative");
            out.put(id, token(e.getValue(), file, "added_tokens_decoder." + id));
        }
        return out;
    }

    private static int modelMaxLength(JsonNode n, Path file) throws ModelException {
        if (!n.isNumber()) throw new ModelException(file + ": model_max_length must be a number, got " + n);
        double v = n.asDouble();
        if (v >= UNSET_MODEL_MAX_LENGTH) return DEFAULT_MODEL_MAX_LENGTH;
        if (!n.canConvertToInt() || (n.isFloatingPointNumber() && v != Math.rint(v)) || v < 2 || v > MAX_MODEL_MAX_LENGTH) {
            throw new ModelException(file + ": model_max_length must be an integer in 2.." + MAX_MODEL_MAX_LENGTH
                    + " (or transformers' unset value 1e30), got " + n);
        }
        return (int) v;
    }
}
