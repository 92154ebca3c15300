package dev.unet4j.samplers;

import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * One named sampler of the {@link Samplers} registry.
 *
 * @param name        the name the CLI's {@code --scheduler}, the server and the Spark jobs take ({@code dpmpp-2m-karras})
 * @param description one line for help texts
 * @param aliases     other names clients send for it, matched without regard to case: AUTOMATIC1111's
 *                    {@code sampler_name} as its web UI writes it ({@code Euler a}) first
 * @param settings    the sampler settings beyond the scheduler config that it reads
 * @param factory     builds it from the model's scheduler config and those settings
 */
public record SamplerEntry(String name, String description, List<String> aliases, Set<Setting> settings,
                           Function<SamplerOptions, Sampler> factory) {
    /** A setting of {@link SamplerOptions} (or a schedule override) that only some samplers read. */
    public enum Setting {
        /** DDIM's eta. */
        ETA,
        /** {@code sigma_min}/{@code sigma_max} of the sigma schedule. */
        SIGMA_RANGE,
        /** EDM's schedule exponent {@code rho}. */
        RHO,
        /** Karras et al.'s stochastic churn ({@code s_churn}, {@code s_tmin}, {@code s_tmax}, {@code s_noise}). */
        CHURN
    }

    public SamplerEntry {
        aliases = List.copyOf(aliases);
        settings = Set.copyOf(settings);
    }

    /** Whether this sampler reads {@code s}. */
    public boolean reads(Setting s) {
        return settings.contains(s);
    }
}
