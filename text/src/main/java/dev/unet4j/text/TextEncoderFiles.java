package dev.unet4j.text;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.checkpoint.ModelException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The weight files of a transformers model folder ({@code text_encoder/}): {@code model[.VARIANT].safetensors}, or the
 * shards named by {@code model[.VARIANT].safetensors.index.json} (the index wins, as in transformers).
 */
final class TextEncoderFiles {
    static final String CONFIG = "config.json";

    private TextEncoderFiles() {
    }

    static List<Path> weights(Path dir, String variant) throws IOException {
        String stem = variant == null ? "model" : "model." + variant;
        Path index = dir.resolve(stem + ".safetensors.index.json");
        if (Files.isRegularFile(index)) return shards(dir, index);
        Path single = dir.resolve(stem + ".safetensors");
        if (Files.isRegularFile(single)) return List.of(single);
        String hint = Files.isRegularFile(dir.resolve("pytorch_model.bin")) ? " (only pytorch_model.bin is there; convert it to safetensors)" : "";
        throw new ModelException("no text encoder weights in " + dir + ": looked for " + single.getFileName() + " and "
                + index.getFileName() + hint);
    }

    private static List<Path> shards(Path dir, Path index) throws IOException {
        JsonNode root = TokenizerFiles.readJson(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) throw new ModelException(index + ": weight_map must be a non-empty object");
        Set<String> names = new LinkedHashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            JsonNode v = it.next().getValue();
            if (!v.isTextual()) throw new ModelException(index + ": weight_map values must be file names, got " + v);
            names.add(v.asText());
        }
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            Path p = dir.resolve(n).normalize();
            if (!dir.equals(p.getParent())) throw new ModelException(index + ": shard \"" + n + "\" is not a file of " + dir);
            if (!Files.isRegularFile(p)) throw new ModelException(index + ": shard " + n + " does not exist");
            out.add(p);
        }
        return out;
    }
}
