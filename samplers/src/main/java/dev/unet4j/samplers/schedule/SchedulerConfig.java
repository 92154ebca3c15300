package dev.unet4j.samplers.schedule;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.samplers.PredictionType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A diffusers {@code scheduler_config.json} of any scheduler class. The training-schedule fields are parsed with
 * diffusers' defaults (identical across scheduler classes); the per-scheduler fields stay in {@link #raw()} and are
 * read by each sampler's options with that sampler's own defaults, because the same key (e.g.
 * {@code timestep_spacing}) has different defaults in different diffusers classes.
 *
 * @param className     {@code _class_name}, or "" when absent
 * @param trainedBetas  explicit betas, or null
 * @param source        where the config came from, for error messages
 */
public record SchedulerConfig(String className, int numTrainTimesteps, double betaStart, double betaEnd,
                              String betaSchedule, double[] trainedBetas, PredictionType predictionType,
                              boolean rescaleBetasZeroSnr, JsonNode raw, String source) {
    /** Python's json writes float('inf') as Infinity (e.g. DPM-Solver's lambda_min_clipped): accept it. */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    /** Largest {@code num_train_timesteps} accepted (diffusers models train with 1000; arrays are sized by it). */
    public static final int MAX_TRAIN_TIMESTEPS = 100_000;

    public SchedulerConfig {
        if (numTrainTimesteps < 2 || numTrainTimesteps > MAX_TRAIN_TIMESTEPS) {
            throw new IllegalArgumentException(source + ": num_train_timesteps must be 2.." + MAX_TRAIN_TIMESTEPS
                    + ", got " + numTrainTimesteps);
        }
        if (trainedBetas != null && trainedBetas.length != numTrainTimesteps) {
            throw new IllegalArgumentException(source + ": trained_betas has " + trainedBetas.length
                    + " values, num_train_timesteps is " + numTrainTimesteps);
        }
    }

    /** diffusers' defaults: 1000 steps, linear 1e-4..0.02, epsilon. */
    public static SchedulerConfig defaults() {
        return parse(JsonNodeFactory.instance.objectNode(), "<defaults>");
    }

    public static SchedulerConfig load(Path file) {
        try {
            return parse(MAPPER.readTree(file.toFile()), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + file, e);
        }
    }

    public static SchedulerConfig parse(String json) {
        try {
            return parse(MAPPER.readTree(json), "<json>");
        } catch (IOException e) {
            throw new IllegalArgumentException("invalid scheduler config JSON: " + e.getMessage(), e);
        }
    }

    public static SchedulerConfig parse(JsonNode node, String source) {
        if (node == null || !node.isObject()) throw new IllegalArgumentException(source + ": scheduler config must be a JSON object");
        double[] trained = null;
        JsonNode tb = node.get("trained_betas");
        if (tb != null && !tb.isNull()) {
            if (!tb.isArray()) throw new IllegalArgumentException(source + ": trained_betas must be an array");
            trained = new double[tb.size()];
            for (int i = 0; i < trained.length; i++) trained[i] = tb.get(i).asDouble();
        }
        return new SchedulerConfig(text(node, "_class_name", ""), integer(node, "num_train_timesteps", 1000, source),
                number(node, "beta_start", 0.0001, source), number(node, "beta_end", 0.02, source),
                text(node, "beta_schedule", "linear"), trained,
                PredictionType.fromConfig(text(node, "prediction_type", "epsilon")),
                bool(node, "rescale_betas_zero_snr", false, source), node.deepCopy(), source);
    }

    /** A copy with some keys replaced (e.g. {@code use_karras_sigmas: true}), as diffusers' from_config(**kwargs). */
    public SchedulerConfig with(String key, Object value) {
        ObjectNode copy = raw.isObject() ? (ObjectNode) raw.deepCopy() : JsonNodeFactory.instance.objectNode();
        copy.set(key, MAPPER.valueToTree(value));
        return parse(copy, source + " + " + key + "=" + value);
    }

    public String string(String key, String defaultValue) {
        return text(raw, key, defaultValue);
    }

    public boolean bool(String key, boolean defaultValue) {
        return bool(raw, key, defaultValue, source);
    }

    public int integer(String key, int defaultValue) {
        return integer(raw, key, defaultValue, source);
    }

    public double number(String key, double defaultValue) {
        return number(raw, key, defaultValue, source);
    }

    /** The number, or null when the key is absent or JSON null. */
    public Double numberOrNull(String key) {
        JsonNode v = raw.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new IllegalArgumentException(source + ": " + key + " must be a number, got " + v);
        return v.asDouble();
    }

    private static String text(JsonNode node, String key, String def) {
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? def : v.asText();
    }

    private static boolean bool(JsonNode node, String key, boolean def, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isBoolean()) throw new IllegalArgumentException(source + ": " + key + " must be true/false, got " + v);
        return v.asBoolean();
    }

    private static int integer(JsonNode node, String key, int def, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return def;
        Integer i = DiffusersConfig.exactInt(v);
        if (i == null) throw new IllegalArgumentException(source + ": " + key + " must be an integer in int range, got " + v);
        return i;
    }

    private static double number(JsonNode node, String key, double def, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return def;
        if (!v.isNumber()) throw new IllegalArgumentException(source + ": " + key + " must be a number, got " + v);
        return v.asDouble();
    }
}
