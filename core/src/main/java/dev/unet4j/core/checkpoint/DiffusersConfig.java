package dev.unet4j.core.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.slf4j.Logger;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A diffusers {@code config.json} (model or scheduler) with typed accessors.
 *
 * <p>Semantics follow diffusers' {@code register_to_config}: a <em>missing</em> key takes the caller's default (the
 * Python {@code __init__} default); a key present with JSON {@code null} means Python {@code None}, which only the
 * {@code ...OrNull} accessors accept: the plain accessors refuse it rather than silently substituting the default.
 * Numbers are strict: {@link #getInt} wants a JSON integer in int range, {@link #getDouble} any number.
 * {@link #getIntList}/{@link #getStringList} accept a single value for a per-block list, as diffusers does.
 *
 * <p>Every accessor records its key, so {@link #unreadKeys()} tells which settings no code looked at (log them with
 * {@link #logUnreadKeys}); keys starting with {@code _} (diffusers' bookkeeping) never count as unread.
 * Wrong types raise {@link ConfigException} naming the file, key, value and expectation.
 */
public final class DiffusersConfig {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final String source;
    private final JsonNode root;
    private final Set<String> read = ConcurrentHashMap.newKeySet();

    private DiffusersConfig(String source, JsonNode root) {
        this.source = source;
        this.root = root;
    }

    /** Reads and parses {@code path}. */
    public static DiffusersConfig load(Path path) throws IOException {
        if (!Files.isRegularFile(path)) throw new ModelException("config file " + path + " does not exist");
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ModelException("config " + path + " is not UTF-8 text (" + e.getMessage() + "); a UTF-16 file? save it as UTF-8", e);
        }
        return parse(text, path.toString());
    }

    /** Parses JSON text; {@code sourceName} names it in error messages. */
    public static DiffusersConfig parse(String json, String sourceName) throws ModelException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelException("config " + sourceName + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelException("config " + sourceName + " is not a JSON object");
        }
        return new DiffusersConfig(sourceName, root);
    }

    /** Where this config came from (file path or given name). */
    public String source() {
        return source;
    }

    /** {@code _class_name} (e.g. {@code "UNet2DConditionModel"}), or null if absent. */
    public String className() {
        return getStringOrNull("_class_name", null);
    }

    /** {@code _diffusers_version}, or null if absent. */
    public String diffusersVersion() {
        return getStringOrNull("_diffusers_version", null);
    }

    /** Whether the key is present (possibly with value null). */
    public boolean has(String key) {
        return root.has(key);
    }

    /** Whether the key is present with value null (Python None). */
    public boolean isNull(String key) {
        return root.has(key) && root.get(key).isNull();
    }

    /** All keys, in file order. */
    public Set<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        root.fieldNames().forEachRemaining(keys::add);
        return Collections.unmodifiableSet(keys);
    }

    /** The raw JSON value (null if missing); marks the key read. */
    public JsonNode raw(String key) {
        read.add(key);
        return root.get(key);
    }

    // ------------------------------------------------------------------ scalars

    public int getInt(String key, int defaultValue) {
        Integer v = getIntOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "an integer");
        return v;
    }

    /** Missing: {@code defaultIfMissing}; null: null. */
    public Integer getIntOrNull(String key, Integer defaultIfMissing) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing;
        if (n.isNull()) return null;
        return toInt(key, n, "an integer");
    }

    public long getLong(String key, long defaultValue) {
        JsonNode n = raw(key);
        if (n == null) return defaultValue;
        if (n.isNull()) throw nullValue(key, "an integer");
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw wrongType(key, n, "a 64-bit integer");
        return n.longValue();
    }

    public double getDouble(String key, double defaultValue) {
        Double v = getDoubleOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "a number");
        return v;
    }

    public Double getDoubleOrNull(String key, Double defaultIfMissing) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing;
        if (n.isNull()) return null;
        if (!n.isNumber()) throw wrongType(key, n, "a number");
        return n.doubleValue();
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        Boolean v = getBooleanOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "true or false");
        return v;
    }

    public Boolean getBooleanOrNull(String key, Boolean defaultIfMissing) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing;
        if (n.isNull()) return null;
        if (!n.isBoolean()) throw wrongType(key, n, "true or false");
        return n.booleanValue();
    }

    public String getString(String key, String defaultValue) {
        String v = getStringOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "a string");
        return v;
    }

    public String getStringOrNull(String key, String defaultIfMissing) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing;
        if (n.isNull()) return null;
        if (!n.isTextual()) throw wrongType(key, n, "a string");
        return n.textValue();
    }

    // ------------------------------------------------------------------ lists

    /** A list of ints; a single int gives a one-element list (callers broadcast it per block). */
    public List<Integer> getIntList(String key, List<Integer> defaultValue) {
        List<Integer> v = getIntListOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "an integer or a list of integers");
        return v;
    }

    public List<Integer> getIntListOrNull(String key, List<Integer> defaultIfMissing) {
        return list(key, defaultIfMissing, "an integer or a list of integers", n -> toInt(key, n, "a list of integers"));
    }

    /** A list of strings; a single string gives a one-element list. */
    public List<String> getStringList(String key, List<String> defaultValue) {
        List<String> v = getStringListOrNull(key, defaultValue);
        if (v == null) throw nullValue(key, "a string or a list of strings");
        return v;
    }

    public List<String> getStringListOrNull(String key, List<String> defaultIfMissing) {
        return list(key, defaultIfMissing, "a string or a list of strings", n -> {
            if (!n.isTextual()) throw wrongType(key, n, "a list of strings");
            return n.textValue();
        });
    }

    /** A list of numbers; a single number gives a one-element list. */
    public List<Double> getDoubleList(String key, List<Double> defaultValue) {
        List<Double> v = list(key, defaultValue, "a number or a list of numbers", n -> {
            if (!n.isNumber()) throw wrongType(key, n, "a list of numbers");
            return n.doubleValue();
        });
        if (v == null) throw nullValue(key, "a number or a list of numbers");
        return v;
    }

    /** A list of booleans; a single boolean gives a one-element list (e.g. {@code only_cross_attention}). */
    public List<Boolean> getBooleanList(String key, List<Boolean> defaultValue) {
        List<Boolean> v = list(key, defaultValue, "true/false or a list of them", n -> {
            if (!n.isBoolean()) throw wrongType(key, n, "a list of booleans");
            return n.booleanValue();
        });
        if (v == null) throw nullValue(key, "true/false or a list of them");
        return v;
    }

    private <T> List<T> list(String key, List<T> defaultIfMissing, String expected, Function<JsonNode, T> element) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing == null ? null : List.copyOf(defaultIfMissing);
        if (n.isNull()) return null;
        if (n.isArray()) {
            List<T> out = new ArrayList<>(n.size());
            for (JsonNode e : n) {
                if (e.isNull()) throw wrongType(key, n, expected + " without nulls");
                out.add(element.apply(e));
            }
            return Collections.unmodifiableList(out);
        }
        if (n.isContainerNode()) throw wrongType(key, n, expected);
        return List.of(element.apply(n));
    }

    private int toInt(String key, JsonNode n, String expected) {
        if (!n.isIntegralNumber()) throw wrongType(key, n, expected);
        Integer v = exactInt(n);
        if (v == null) throw new ConfigException("config " + source + ": key '" + key + "' = " + n + " is out of int range");
        return v;
    }

    /**
     * The one rule for every integer read from a config file: {@code n} as an int when it is a JSON integer within
     * int range, else null. Not Jackson's {@code asInt()}, which wraps {@code 4294967297} to 1 and truncates 4.5.
     */
    public static Integer exactInt(JsonNode n) {
        return n != null && n.isIntegralNumber() && n.canConvertToInt() ? n.intValue() : null;
    }

    // ------------------------------------------------------------------ bookkeeping

    /** Keys present in the file that no accessor has read, excluding {@code _}-prefixed bookkeeping keys. */
    public Set<String> unreadKeys() {
        Set<String> unread = new LinkedHashSet<>();
        root.fieldNames().forEachRemaining(k -> {
            if (!k.startsWith("_") && !read.contains(k)) unread.add(k);
        });
        return unread;
    }

    /** Logs {@link #unreadKeys()} at debug level (settings this code does not interpret). */
    public void logUnreadKeys(Logger log) {
        Set<String> unread = unreadKeys();
        if (!unread.isEmpty() && log.isDebugEnabled()) {
            log.debug("config {} ({}): keys not used: {}", source, className(), unread);
        }
    }

    private ConfigException wrongType(String key, JsonNode n, String expected) {
        String shown = n.toString();
        if (shown.length() > 80) shown = shown.substring(0, 77) + "...";
        return new ConfigException("config " + source + ": key '" + key + "' is " + describe(n) + " " + shown
                + ", expected " + expected);
    }

    private ConfigException nullValue(String key, String expected) {
        return new ConfigException("config " + source + ": key '" + key + "' is null, expected " + expected
                + " (use the ...OrNull accessor where None is meaningful)");
    }

    private static String describe(JsonNode n) {
        return switch (n.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> n.isIntegralNumber() ? "an integer" : "a floating-point number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    @Override
    public String toString() {
        return "DiffusersConfig[" + source + ", " + className() + "]";
    }
}
