package dev.unet4j.caching;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The arguments of one policy's text form, {@code name:key=value,key=value;flag}. Arguments are separated by
 * {@code ,} or {@code ;}; a bare number after a list key continues that list ({@code keys=0,1,2,5}); any other bare
 * word is a flag. Every error names the offending token and lists what is valid.
 */
public final class PolicyArgs {
    private final String policy;
    private final String text;
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> flags = new LinkedHashSet<>();

    private PolicyArgs(String policy, String text) {
        this.policy = policy;
        this.text = text;
    }

    /**
     * @param keys      the valid keys
     * @param listKeys  keys whose value is a comma-separated list of numbers
     * @param flagNames the valid flags
     */
    public static PolicyArgs parse(String policy, String args, List<String> keys, Set<String> listKeys, Set<String> flagNames) {
        PolicyArgs a = new PolicyArgs(policy, args);
        if (args == null || args.isBlank()) return a;
        String lastKey = null;
        for (String raw : args.split("[,;]", -1)) {
            String tok = raw.trim();
            if (tok.isEmpty()) throw a.error("empty argument", keys, flagNames);
            int eq = tok.indexOf('=');
            if (eq >= 0) {
                String k = tok.substring(0, eq).trim(), v = tok.substring(eq + 1).trim();
                if (!keys.contains(k)) throw a.error("unknown key '" + k + "'", keys, flagNames);
                if (v.isEmpty()) throw a.error("key '" + k + "' has no value", keys, flagNames);
                if (a.values.containsKey(k)) throw a.error("key '" + k + "' given twice", keys, flagNames);
                a.values.put(k, v);
                lastKey = k;
            } else if (lastKey != null && listKeys.contains(lastKey) && isNumber(tok)) {
                a.values.put(lastKey, a.values.get(lastKey) + "," + tok);
            } else if (flagNames.contains(tok)) {
                a.flags.add(tok);
                lastKey = null;
            } else {
                throw a.error("unknown argument '" + tok + "'", keys, flagNames);
            }
        }
        return a;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private IllegalArgumentException error(String what, List<String> keys, Set<String> flagNames) {
        return new IllegalArgumentException("cache policy '" + policy + (text == null ? "" : ":" + text) + "': " + what
                + "; valid keys: " + String.join(", ", keys) + (flagNames.isEmpty() ? "" : "; flags: " + String.join(", ", flagNames)));
    }

    private IllegalArgumentException bad(String key, String value, String expected) {
        return new IllegalArgumentException("cache policy '" + policy + ":" + text + "': " + key + "=" + value + " is not " + expected);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public boolean flag(String name) {
        return flags.contains(name);
    }

    public String string(String key, String def) {
        return values.getOrDefault(key, def);
    }

    public int integer(String key, int def) {
        String v = values.get(key);
        if (v == null) return def;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw bad(key, v, "an integer");
        }
    }

    public double number(String key, double def) {
        String v = values.get(key);
        if (v == null) return def;
        try {
            double d = Double.parseDouble(v);
            if (!Double.isFinite(d)) throw bad(key, v, "a finite number");
            return d;
        } catch (NumberFormatException e) {
            throw bad(key, v, "a number");
        }
    }

    /** A list of non-negative integers, or null if absent. */
    public int[] ints(String key) {
        String v = values.get(key);
        if (v == null) return null;
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw bad(key, v, "a list of integers");
            }
            if (out[i] < 0) throw bad(key, v, "a list of non-negative integers");
        }
        return out;
    }

    /** A {@code |}-separated list of words, or an empty list if absent. */
    public List<String> words(String key) {
        String v = values.get(key);
        if (v == null) return List.of();
        List<String> out = new ArrayList<>();
        for (String s : v.split("\\|")) if (!s.isBlank()) out.add(s.trim());
        return out;
    }

    /** Throws naming {@code key} unless {@code ok}. */
    public void require(boolean ok, String key, String expected) {
        if (!ok) throw bad(key, values.getOrDefault(key, "(default)"), expected);
    }
}
