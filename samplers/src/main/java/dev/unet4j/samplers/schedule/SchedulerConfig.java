package dev.unet4j.samplers.schedule;

import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.samplers.PredictionType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A diffusers {@code scheduler_config.json} of any scheduler class, read by core's one config reader
 * ({@link DiffusersConfig}: the same integer and float rules, the same messages). The training-schedule fields are
 * parsed with diffusers' defaults (identical across scheduler classes); the per-scheduler fields are read through
 * {@link #string}, {@link #integer}, ... by each sampler's options with that sampler's own defaults, because the same
 * key (e.g. {@code timestep_spacing}) has different defaults in different diffusers classes. A key present with
 * {@code null} takes the default here (schedulers treat None as "unset"). Numbers may be {@code Infinity}
 * (Python's {@code float('inf')}, e.g. DPM-Solver's {@code lambda_min_clipped}), never NaN.
 *
 * @param className     {@code _class_name}, or "" when absent
 * @param trainedBetas  explicit betas, or null
 * @param config        the whole file, for the per-scheduler fields
 * @param source        where the config came from, for error messages
 */
public record SchedulerConfig(String className, int numTrainTimesteps, double betaStart, double betaEnd,
                              String betaSchedule, double[] trainedBetas, PredictionType predictionType,
                              boolean rescaleBetasZeroSnr, DiffusersConfig config, String source) {
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
        return parse("{}", "<defaults>");
    }

    public static SchedulerConfig load(Path file) {
        try {
            return of(DiffusersConfig.load(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + file + ": " + e.getMessage(), e);
        }
    }

    public static SchedulerConfig parse(String json) {
        return parse(json, "<json>");
    }

    /** Parses JSON text; {@code source} names it in error messages. */
    public static SchedulerConfig parse(String json, String source) {
        try {
            return of(DiffusersConfig.parse(json, source));
        } catch (ModelException e) {
            throw new IllegalArgumentException("invalid scheduler config JSON: " + e.getMessage(), e);
        }
    }

    /** The scheduler config that {@code c} holds. */
    public static SchedulerConfig of(DiffusersConfig c) {
        List<Double> tb = c.getDoubleListOrNull("trained_betas", null);
        double[] trained = tb == null ? null : tb.stream().mapToDouble(Double::doubleValue).toArray();
        String className = c.getStringOrNull("_class_name", null);
        return new SchedulerConfig(className == null ? "" : className, integer(c, "num_train_timesteps", 1000),
                number(c, "beta_start", 0.0001), number(c, "beta_end", 0.02),
                string(c, "beta_schedule", "linear"), trained,
                PredictionType.fromConfig(string(c, "prediction_type", "epsilon")),
                bool(c, "rescale_betas_zero_snr", false), c, c.source());
    }

    /** A copy with some keys replaced (e.g. {@code use_karras_sigmas: true}), as diffusers' from_config(**kwargs). */
    public SchedulerConfig with(String key, Object value) {
        return of(config.with(key, value));
    }

    public String string(String key, String defaultValue) {
        return string(config, key, defaultValue);
    }

    public boolean bool(String key, boolean defaultValue) {
        return bool(config, key, defaultValue);
    }

    public int integer(String key, int defaultValue) {
        return integer(config, key, defaultValue);
    }

    public double number(String key, double defaultValue) {
        return number(config, key, defaultValue);
    }

    /** The number, or null when the key is absent or JSON null. */
    public Double numberOrNull(String key) {
        return config.getUnboundedDoubleOrNull(key, null);
    }

    private static String string(DiffusersConfig c, String key, String def) {
        return orDefault(c.getStringOrNull(key, def), def);
    }

    private static boolean bool(DiffusersConfig c, String key, boolean def) {
        return orDefault(c.getBooleanOrNull(key, def), def);
    }

    private static int integer(DiffusersConfig c, String key, int def) {
        return orDefault(c.getIntOrNull(key, def), def);
    }

    private static double number(DiffusersConfig c, String key, double def) {
        return orDefault(c.getUnboundedDoubleOrNull(key, def), def);
    }

    /** A key present with null takes the default: schedulers treat None as "unset". */
    private static <T> T orDefault(T v, T def) {
        return v == null ? def : v;
    }
}
