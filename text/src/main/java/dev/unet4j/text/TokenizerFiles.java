package dev.unet4j.text;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.unet4j.core.checkpoint.ModelException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/** Reads {@code vocab.json} and {@code merges.txt}; every problem is a {@link ModelException} naming the file. */
final class TokenizerFiles {
    static final String VOCAB = "vocab.json";
    static final String MERGES = "merges.txt";
    /** {@code CLIPTokenizer} reads merges lines {@code 1 .. 49152 - 256 - 2} (the first line is the version header). */
    static final int MAX_MERGES = 49152 - 256 - 2;
    /** Larger files are refused before they are read (an SD vocab.json is under 1 MB). */
    static final long MAX_FILE_BYTES = 64L << 20;

    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private TokenizerFiles() {
    }

    static String readText(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new ModelException("tokenizer file " + file + " does not exist");
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) throw new ModelException("tokenizer file " + file + " has " + size + " bytes; at most " + MAX_FILE_BYTES + " are read");
        byte[] bytes = Files.readAllBytes(file);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelException("tokenizer file " + file + " is not valid UTF-8", e);
        }
    }

    static JsonNode readJson(Path file) throws IOException {
        String text = readText(file);
        try {
            JsonNode root = JSON.readTree(text);
            if (root == null) throw new ModelException("tokenizer file " + file + " is empty");
            return root;
        } catch (JsonProcessingException e) {
            throw new ModelException("tokenizer file " + file + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** {@code vocab.json}: token to id, ids non-negative integers. */
    static Map<String, Integer> readVocab(Path file) throws IOException {
        JsonNode root = readJson(file);
        if (!root.isObject() || root.isEmpty()) throw new ModelException("tokenizer file " + file + " must be a non-empty JSON object of token -> id");
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
                throw new ModelException("tokenizer file " + file + ": the id of token \"" + e.getKey() + "\" must be a non-negative integer, got " + v);
            }
            vocab.put(e.getKey(), v.intValue());
        }
        return vocab;
    }

    /**
     * {@code merges.txt} as {@code CLIPTokenizer} reads it: {@code read().strip().split("\n")[1:48895]}, each line split
     * on whitespace; its position is its rank. Lines without exactly two parts take a rank but never match a pair, and
     * a repeated pair keeps its later rank, as with Python's {@code dict(zip(merges, range(...)))}.
     */
    static Map<String, Integer> readMerges(Path file) throws IOException {
        String[] lines = readText(file).strip().split("\n", -1);
        Map<String, Integer> ranks = new HashMap<>(Math.min(lines.length, MAX_MERGES + 1) * 2);
        for (int i = 1; i < lines.length && i <= MAX_MERGES; i++) {
            String pair = pair(lines[i]);
            if (pair != null) ranks.put(pair, i - 1);
        }
        if (ranks.isEmpty()) throw new ModelException("tokenizer file " + file + " holds no merges (expected a '#version' line, then one 'first second' pair per line)");
        return ranks;
    }

    /** {@code "first second"} when {@code line.split()} has exactly two parts, else null (no regex: 48,894 lines). */
    private static String pair(String line) {
        int n = line.length(), a = 0;
        while (a < n && PythonText.isSpace(line.charAt(a))) a++;
        int b = a;
        while (b < n && !PythonText.isSpace(line.charAt(b))) b++;
        int c = b;
        while (c < n && PythonText.isSpace(line.charAt(c))) c++;
        int d = c;
        while (d < n && !PythonText.isSpace(line.charAt(d))) d++;
        int e = d;
        while (e < n && PythonText.isSpace(line.charAt(e))) e++;
        if (b == a || d == c || e != n) return null;
        return line.substring(a, b) + " " + line.substring(c, d);
    }
}
