package dev.unet4j.unet.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.unet.UnsupportedConfigException;
import org.slf4j.Logger;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a diffusers {@code config.json} (through core's {@link DiffusersConfig}) with Python semantics: a missing key
 * takes the constructor default, an explicit {@code null} is {@code None} (e.g. {@code attention_head_dim: null}), and
 * the fields that accept "an int or a list" are expanded per block. Every integer goes through core's
 * {@link DiffusersConfig#exactInt} (a JSON integer in int range), so {@code 4294967297} is refused, not read as 1.
 */
public final class ConfigReader {
    private final DiffusersConfig config;
    private final String source;

    public ConfigReader(DiffusersConfig config) {
        this.config = config;
        this.source = config.source();
    }

    public static ConfigReader of(Path file) throws IOException {
        return new ConfigReader(DiffusersConfig.load(file));
    }

    public static ConfigReader of(String json) {
        try {
            return new ConfigReader(DiffusersConfig.parse(json, "<json>"));
        } catch (dev.unet4j.core.checkpoint.ModelException e) {
            throw new UnsupportedConfigException(e.getMessage());
        }
    }

    public String source() {
        return source;
    }

    /** {@code _class_name}, or null. */
    public String className() {
        return config.className();
    }

    private JsonNode node(String key) {
        return config.raw(key);
    }

    /** Marks {@code key} as read without interpreting it. */
    public void skip(String key) {
        config.raw(key);
    }

    public boolean has(String key) {
        return config.has(key);
    }

    private UnsupportedConfigException bad(String key, String expected, JsonNode n) {
        return new UnsupportedConfigException(source + ": \"" + key + "\" should be " + expected + ", found " + n);
    }

    /** {@code e} (an element of {@code whole}) as an int by core's one rule ({@link DiffusersConfig#exactInt}). */
    private int exact(String key, JsonNode e, JsonNode whole, String expected) {
        Integer v = DiffusersConfig.exactInt(e);
        if (v == null) throw bad(key, expected + " (each a JSON integer in int range)", whole);
        return v;
    }

    public int integer(String key, int def) {
        JsonNode n = node(key);
        if (n == null) return def;
        return exact(key, n, n, "an integer");
    }

    /** An integer or None. */
    public Integer optInteger(String key, Integer def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (n.isNull()) return null;
        return exact(key, n, n, "an integer or null");
    }

    public double number(String key, double def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (!n.isNumber()) throw bad(key, "a number", n);
        return n.asDouble();
    }

    public boolean bool(String key, boolean def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (!n.isBoolean()) throw bad(key, "true or false", n);
        return n.asBoolean();
    }

    /** A string or None. */
    public String string(String key, String def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (n.isNull()) return null;
        if (!n.isTextual()) throw bad(key, "a string or null", n);
        return n.asText();
    }

    public List<String> strings(String key, List<String> def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (!n.isArray()) throw bad(key, "a list of strings", n);
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw bad(key, "a list of strings", n);
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    public int[] ints(String key, int[] def) {
        JsonNode n = node(key);
        if (n == null) return def;
        if (!n.isArray()) throw bad(key, "a list of integers", n);
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = exact(key, n.get(i), n, "a list of integers");
        }
        return out;
    }

    /** An int (repeated {@code count} times) or a list of {@code count} ints; {@code null} stays null. */
    public Integer[] intOrList(String key, Integer def, int count) {
        JsonNode n = node(key);
        Integer[] out = new Integer[count];
        if (n == null || n.isNull() || n.isNumber()) {
            Integer v = n == null ? def : n.isNull() ? null : Integer.valueOf(exact(key, n, n, "an integer or a list of " + count + " integers"));
            java.util.Arrays.fill(out, v);
            return out;
        }
        if (!n.isArray() || n.size() != count) throw bad(key, "an integer or a list of " + count + " integers", n);
        for (int i = 0; i < count; i++) {
            out[i] = n.get(i).isNull() ? null : exact(key, n.get(i), n, "an integer or a list of " + count + " integers");
        }
        return out;
    }

    /** A bool or a list of {@code count} bools. */
    public boolean[] boolOrList(String key, boolean def, int count) {
        JsonNode n = node(key);
        boolean[] out = new boolean[count];
        if (n == null || n.isBoolean()) {
            java.util.Arrays.fill(out, n == null ? def : n.asBoolean());
            return out;
        }
        if (!n.isArray() || n.size() != count) throw bad(key, "a bool or a list of " + count + " bools", n);
        for (int i = 0; i < count; i++) out[i] = n.get(i).asBoolean();
        return out;
    }

    /**
     * {@code transformer_layers_per_block}-style: an int for every layer of every block, a list with one int per block,
     * or a list of per-layer lists. Returns {@code [block][layer-or-single]}; null when the key is null.
     */
    public int[][] nestedInts(String key, int def, int count) {
        JsonNode n = node(key);
        if (n != null && n.isNull()) return null;
        int[][] out = new int[count][];
        if (n == null || n.isNumber()) {
            int v = n == null ? def : exact(key, n, n, "an integer or a list of " + count + " entries");
            for (int i = 0; i < count; i++) out[i] = new int[]{v};
            return out;
        }
        if (!n.isArray() || n.size() != count) throw bad(key, "an integer or a list of " + count + " entries", n);
        for (int i = 0; i < count; i++) {
            JsonNode e = n.get(i);
            if (e.isNumber()) out[i] = new int[]{exact(key, e, n, "integers or lists of integers")};
            else if (e.isArray()) {
                out[i] = new int[e.size()];
                for (int j = 0; j < e.size(); j++) out[i][j] = exact(key, e.get(j), n, "integers or lists of integers");
            } else throw bad(key, "integers or lists of integers", n);
        }
        return out;
    }

    /** An int, a list of ints, or null, kept as a list ({@code cross_attention_dim}). */
    public Integer[] intOrListAnyLength(String key, Integer def) {
        JsonNode n = node(key);
        if (n == null) return def == null ? null : new Integer[]{def};
        if (n.isNull()) return null;
        if (n.isNumber()) return new Integer[]{exact(key, n, n, "an integer or a list")};
        if (!n.isArray()) throw bad(key, "an integer or a list", n);
        Integer[] out = new Integer[n.size()];
        for (int i = 0; i < out.length; i++) out[i] = n.get(i).isNull() ? null : exact(key, n.get(i), n, "an integer or a list");
        return out;
    }

    /** Logs (debug) keys this reader never read, except {@code _private} ones. */
    public void logUnread(Logger log) {
        config.logUnreadKeys(log);
    }
}
