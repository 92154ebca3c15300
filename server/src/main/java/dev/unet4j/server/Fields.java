package dev.unet4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * Typed, range-checked reading of a JSON request body. Every problem is a 400 naming the field; fields a route
 * does not read are ignored (clients send extra fields).
 */
final class Fields {
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final ObjectNode body;

    private Fields(ObjectNode body) {
        this.body = body;
    }

    /** Parses a request body that must be one JSON object. */
    static Fields parse(byte[] bytes) {
        JsonNode n;
        try {
            n = bytes.length == 0 ? null : JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, null, "malformed JSON body: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new ApiException(400, null, "unreadable body: " + e.getMessage());
        }
        if (n == null || n.isMissingNode()) throw new ApiException(400, null, "empty body: expected a JSON object");
        if (!(n instanceof ObjectNode o)) throw new ApiException(400, null, "the body must be a JSON object, got " + n.getNodeType().name().toLowerCase());
        return new Fields(o);
    }

    private JsonNode present(String name) {
        JsonNode v = body.get(name);
        return v == null || v.isNull() ? null : v;
    }

    /** The object in field {@code name} (400 unless it is one). */
    Fields child(String name) {
        JsonNode v = present(name);
        if (v == null) return new Fields(JSON.createObjectNode());
        if (!(v instanceof ObjectNode o)) throw ApiException.badField(name, "expected an object");
        return new Fields(o);
    }

    boolean has(String name) {
        return present(name) != null;
    }

    String string(String name, String dflt, int maxChars) {
        JsonNode v = present(name);
        if (v == null) return dflt;
        if (!v.isTextual()) throw ApiException.badField(name, "expected a string, got " + v.getNodeType().name().toLowerCase());
        String s = v.textValue();
        if (s.length() > maxChars) throw ApiException.badField(name, "longer than " + maxChars + " characters (" + s.length() + ")");
        return s;
    }

    String requiredString(String name, int maxChars) {
        String s = string(name, null, maxChars);
        if (s == null || s.isBlank()) throw ApiException.badField(name, "required");
        return s;
    }

    int integer(String name, int dflt, int min, int max) {
        JsonNode v = present(name);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() && !(v.isNumber() && v.doubleValue() == Math.rint(v.doubleValue()))) {
            throw ApiException.badField(name, "expected an integer, got " + v);
        }
        if (!v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
            throw ApiException.badField(name, "must be " + min + ".." + max + ", got " + v);
        }
        return (int) v.longValue();
    }

    long longValue(String name, long dflt, long min, long max) {
        JsonNode v = present(name);
        if (v == null) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badField(name, "expected an integer, got " + v);
        if (v.longValue() < min || v.longValue() > max) throw ApiException.badField(name, "must be " + min + ".." + max + ", got " + v);
        return v.longValue();
    }

    double number(String name, double dflt, double min, double max) {
        JsonNode v = present(name);
        if (v == null) return dflt;
        if (!v.isNumber()) throw ApiException.badField(name, "expected a number, got " + v);
        double d = v.doubleValue();
        if (!(d >= min && d <= max)) throw ApiException.badField(name, "must be " + min + ".." + max + ", got " + v);
        return d;
    }

    boolean bool(String name, boolean dflt) {
        JsonNode v = present(name);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw ApiException.badField(name, "expected true or false, got " + v);
        return v.booleanValue();
    }

    List<String> strings(String name, int maxItems) {
        JsonNode v = present(name);
        List<String> out = new ArrayList<>();
        if (v == null) return out;
        if (!v.isArray()) throw ApiException.badField(name, "expected an array of strings");
        if (v.size() > maxItems) throw ApiException.badField(name, "at most " + maxItems + " items, got " + v.size());
        for (JsonNode e : v) {
            if (!e.isTextual()) throw ApiException.badField(name, "expected an array of strings, found " + e.getNodeType().name().toLowerCase());
            out.add(e.textValue());
        }
        return out;
    }
}
