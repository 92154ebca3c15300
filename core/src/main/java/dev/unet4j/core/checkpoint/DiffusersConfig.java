package dev.unet4j.core.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * Numbers follow one range rule, for every file and module: an integer is a JSON integer in int range (never
 * wrapped or truncated, as Jackson's {@code asInt()} would), a float is a JSON number that is finite as a double
 * ({@code 1e400}, {@code NaN} and {@code Infinity} are refused). Python's {@code json} writes {@code float('inf')} as
 * {@code Infinity}, so such files parse; only {@link #getUnboundedDoubleOrNull} (a bound where infinity means "none",
 * as in scheduler configs) accepts it.
 * {@link #getIntList}/{@link #getStringList} accept a single value for a per-block list, as diffusers does.
 *
 * <p>Every accessor records its key, so {@link #unreadKeys()} tells which settings no code looked at (log them with
 * {@link #logUnreadKeys}); keys starting with {@code _} (diffusers' bookkeeping) never count as unread.
 * Wrong types raise {@link ConfigException} naming the file, key, value and expectation.
 */
public final class DiffusersConfig {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
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

    /**
     * A nested object ({@code norm_op_kwargs}) as a config of its own, read by the same rules and named
     * {@code "FILE key"} in messages; null when the key is missing or null.
     */
    public DiffusersConfig getSectionOrNull(String key) {
        return scalarOrNull(key, null, n -> {
            if (!n.isObject()) throw wrongType(key, n, "an object");
            return new DiffusersConfig(source + " " + key, n);
        });
    }

    /** The JSON value (null if missing); marks the key read. */
    private JsonNode raw(String key) {
        read.add(key);
        return root.get(key);
    }

    // ------------------------------------------------------------------ scalars

    public int getInt(String key, int defaultValue) {
        return present(key, getIntOrNull(key, defaultValue), "an integer");
    }

    /** Missing: {@code defaultIfMissing}; null: null. */
    public Integer getIntOrNull(String key, Integer defaultIfMissing) {
        return scalarOrNull(key, defaultIfMissing, n -> toInt(key, n, "an integer"));
    }

    public long getLong(String key, long defaultValue) {
        JsonNode n = raw(key);
        if (n == null) return defaultValue;
        if (n.isNull()) throw nullValue(key, "an integer");
        if (!n.isIntegralNumber() || !n.canConvertToLong()) throw wrongType(key, n, "a 64-bit integer");
        return n.longValue();
    }

    public double getDouble(String key, double defaultValue) {
        return present(key, getDoubleOrNull(key, defaultValue), "a number");
    }

    public Double getDoubleOrNull(String key, Double defaultIfMissing) {
        return doubleOrNull(key, defaultIfMissing, false);
    }

    /**
     * A number that may be {@code Infinity} or {@code -Infinity} (a bound, where Python's {@code float('inf')} means
     * "none", e.g. DPM-Solver's {@code lambda_min_clipped}); NaN is still refused. Missing: {@code defaultIfMissing};
     * null: null.
     */
    public Double getUnboundedDoubleOrNull(String key, Double defaultIfMissing) {
        return doubleOrNull(key, defaultIfMissing, true);
    }

    private Double doubleOrNull(String key, Double defaultIfMissing, boolean infinityAllowed) {
        return scalarOrNull(key, defaultIfMissing, n -> toDouble(key, n, infinityAllowed));
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        return present(key, getBooleanOrNull(key, defaultValue), "true or false");
    }

    public Boolean getBooleanOrNull(String key, Boolean defaultIfMissing) {
        return scalarOrNull(key, defaultIfMissing, n -> {
            if (!n.isBoolean()) throw wrongType(key, n, "true or false");
            return n.booleanValue();
        });
    }

    public String getString(String key, String defaultValue) {
        return present(key, getStringOrNull(key, defaultValue), "a string");
    }

    public String getStringOrNull(String key, String defaultIfMissing) {
        return scalarOrNull(key, defaultIfMissing, n -> {
            if (!n.isTextual()) throw wrongType(key, n, "a string");
            return n.textValue();
        });
    }

    /** Missing: {@code defaultIfMissing}; JSON null: null (Python None); else {@code convert}'s checked value. */
    private <T> T scalarOrNull(String key, T defaultIfMissing, Function<JsonNode, T> convert) {
        JsonNode n = raw(key);
        if (n == null) return defaultIfMissing;
        if (n.isNull()) return null;
        return convert.apply(n);
    }

    // ------------------------------------------------------------------ lists

    /** A list of ints; a single int gives a one-element list (callers broadcast it per block). */
    public List<Integer> getIntList(String key, List<Integer> defaultValue) {
        return present(key, getIntListOrNull(key, defaultValue), "an integer or a list of integers");
    }

    public List<Integer> getIntListOrNull(String key, List<Integer> defaultIfMissing) {
        return list(key, defaultIfMissing, "an integer or a list of integers", n -> toInt(key, n, "a list of integers"));
    }

    /** A list of strings; a single string gives a one-element list. */
    public List<String> getStringList(String key, List<String> defaultValue) {
        return present(key, getStringListOrNull(key, defaultValue), "a string or a list of strings");
    }

    public List<String> getStringListOrNull(String key, List<String> defaultIfMissing) {
        return list(key, defaultIfMissing, "a string or a list of strings", n -> {
            if (!n.isTextual()) throw wrongType(key, n, "a list of strings");
            return n.textValue();
        });
    }

    /** A list of finite numbers; a single number gives a one-element list. */
    public List<Double> getDoubleList(String key, List<Double> defaultValue) {
        return present(key, getDoubleListOrNull(key, defaultValue), "a number or a list of numbers");
    }

    public List<Double> getDoubleListOrNull(String key, List<Double> defaultIfMissing) {
        return list(key, defaultIfMissing, "a number or a list of numbers", n -> toDouble(key, n, false));
    }

    /** A list of booleans; a single boolean gives a one-element list. */
    public List<Boolean> getBooleanList(String key, List<Boolean> defaultValue) {
        return present(key, list(key, defaultValue, "true/false or a list of them", n -> {
            if (!n.isBoolean()) throw wrongType(key, n, "a list of booleans");
            return n.booleanValue();
        }), "true/false or a list of them");
    }

    // ------------------------------------------------------------------ per-block values

    /**
     * diffusers' "an int or one per block" ({@code attention_head_dim}, {@code layers_per_block}): a single integer
     * repeated {@code blocks} times, or a list of exactly {@code blocks} integers. Missing: {@code defaultIfMissing}
     * repeated (which may be null); null: null.
     */
    public List<Integer> getIntPerBlockOrNull(String key, Integer defaultIfMissing, int blocks) {
        return perBlock(key, defaultIfMissing, blocks, "an integer or a list of " + blocks + " integers",
                n -> toInt(key, n, "an integer or a list of " + blocks + " integers"));
    }

    /** A boolean or a list of exactly {@code blocks} booleans ({@code only_cross_attention}); null is refused. */
    public List<Boolean> getBooleanPerBlock(String key, boolean defaultIfMissing, int blocks) {
        String expected = "true/false or a list of " + blocks + " of them";
        return present(key, perBlock(key, defaultIfMissing, blocks, expected, n -> {
            if (!n.isBoolean()) throw wrongType(key, n, expected);
            return n.booleanValue();
        }), expected);
    }

    /**
     * {@code transformer_layers_per_block}: an integer for every layer of every block, or a list with one entry per
     * block, each an integer (every layer of that block) or a list with one integer per layer. Returns one list per
     * block (a single-element list for "every layer"); missing: {@code [defaultIfMissing]} per block; null: null.
     */
    public List<List<Integer>> getNestedIntPerBlockOrNull(String key, int defaultIfMissing, int blocks) {
        String expected = "an integer or a list of " + blocks + " integers or lists of integers";
        return perBlock(key, List.of(defaultIfMissing), blocks, expected, n -> {
            if (!n.isArray()) return List.of(toInt(key, n, expected));
            List<Integer> layers = new ArrayList<>(n.size());
            for (JsonNode e : n) layers.add(toInt(key, e, expected));
            return List.copyOf(layers);
        });
    }

    private <T> List<T> perBlock(String key, T defaultIfMissing, int blocks, String expected, Function<JsonNode, T> element) {
        JsonNode n = raw(key);
        if (n == null) return Collections.nCopies(blocks, defaultIfMissing);
        if (n.isNull()) return null;
        if (n.isObject()) throw wrongType(key, n, expected);
        if (!n.isArray()) return Collections.nCopies(blocks, element.apply(n));
        if (n.size() != blocks) throw wrongType(key, n, expected);
        List<T> out = new ArrayList<>(blocks);
        for (JsonNode e : n) {
            if (e.isNull()) throw wrongType(key, n, expected + " without nulls");
            out.add(element.apply(e));
        }
        return Collections.unmodifiableList(out);
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

    /** Whether {@code key} holds a JSON array (a pipeline's {@code model_index.json} component entries do). */
    public boolean isList(String key) {
        JsonNode n = raw(key);
        return n != null && n.isArray();
    }

    /**
     * A list of exactly {@code size} strings in which JSON null stands for Python's None, as in the
     * {@code [library, class]} component pairs of {@code model_index.json} ({@code "safety_checker": [null, null]}).
     */
    public List<String> getNullableStringTuple(String key, int size) {
        String expected = "a list of " + size + " strings or nulls";
        JsonNode n = raw(key);
        if (n == null) throw new ConfigException("config " + source + ": key '" + key + "' is missing, expected " + expected);
        if (!n.isArray() || n.size() != size) throw wrongType(key, n, expected);
        List<String> out = new ArrayList<>(size);
        for (JsonNode e : n) {
            if (!e.isNull() && !e.isTextual()) throw wrongType(key, n, expected);
            out.add(e.isNull() ? null : e.textValue());
        }
        return Collections.unmodifiableList(out);
    }

    /** The integer rule: a JSON integer (not {@code 3.0}) in int range. */
    private int toInt(String key, JsonNode n, String expected) {
        if (!n.isIntegralNumber()) throw wrongType(key, n, expected);
        Integer v = exactInt(n);
        if (v == null) throw new ConfigException("config " + source + ": key '" + key + "' = " + n + " is out of int range");
        return v;
    }

    /** The float rule: a JSON number, finite as a double ({@code 1e400} overflows to infinity: refused like {@code Infinity}). */
    private double toDouble(String key, JsonNode n, boolean infinityAllowed) {
        if (!n.isNumber()) throw wrongType(key, n, "a number");
        double d = n.doubleValue();
        if (Double.isNaN(d) || (Double.isInfinite(d) && !infinityAllowed)) {
            throw new ConfigException("config " + source + ": key '" + key + "' = " + d + " is not a finite number");
        }
        return d;
    }

    /**
     * The one rule for every integer read from a config file: {@code n} as an int when it is a JSON integer within
     * int range, else null. Not Jackson's {@code asInt()}, which wraps {@code 4294967297} to 1 and truncates 4.5.
     */
    public static Integer exactInt(JsonNode n) {
        return n != null && n.isIntegralNumber() && n.canConvertToInt() ? n.intValue() : null;
    }

    /**
     * The error for a value of {@code key} that has the right type but the wrong shape or range for the caller
     * (e.g. a per-block list of the wrong length), in the same form as every other refusal here.
     */
    public ConfigException invalid(String key, String expected) {
        JsonNode n = root.get(key);
        return n == null ? new ConfigException("config " + source + ": key '" + key + "' is missing, expected " + expected)
                : wrongType(key, n, expected);
    }

    /** Marks {@code keys} read: settings this code knowingly does not use (e.g. {@code dropout} at inference). */
    public void ignore(String... keys) {
        read.addAll(List.of(keys));
    }

    /** A copy with {@code key} set to {@code value} (as diffusers' {@code from_config(**kwargs)}); nothing marked read. */
    public DiffusersConfig with(String key, Object value) {
        ObjectNode copy = ((ObjectNode) root).deepCopy();
        copy.set(key, JSON.valueToTree(value));
        return new DiffusersConfig(source + " + " + key + "=" + value, copy);
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

    /** {@code v}, which a plain (not {@code ...OrNull}) accessor read: JSON null there is refused. */
    private <T> T present(String key, T v, String expected) {
        if (v == null) throw nullValue(key, expected);
        return v;
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
