package dev.unet4j.samplers;

import java.util.Locale;

/** What the network predicts (diffusers' {@code prediction_type}). */
public enum PredictionType {
    /** The added noise. */
    EPSILON("epsilon"),
    /** v = sqrt(alpha_bar) * noise - sqrt(1 - alpha_bar) * x0. */
    V_PREDICTION("v_prediction"),
    /** The clean sample x0 ("original_sample" is accepted as an old alias). */
    SAMPLE("sample");

    private final String configName;

    PredictionType(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    public static PredictionType fromConfig(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("original_sample")) return SAMPLE;
        for (PredictionType p : values()) if (p.configName.equals(n)) return p;
        throw new IllegalArgumentException("unknown prediction_type '" + name + "'; expected epsilon, v_prediction or sample");
    }
}
