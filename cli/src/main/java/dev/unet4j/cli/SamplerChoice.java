package dev.unet4j.cli;

import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.Set;

/**
 * Builds the {@code --scheduler} sampler from the model's scheduler config and the sampler options given on the
 * command line. An option that the chosen sampler does not use is refused, so nothing is silently ignored.
 *
 * @param eta      DDIM eta, or null
 * @param sigmaMin sigma range override (Euler/Heun/EDM), or null
 * @param sigmaMax sigma range override, or null
 * @param rho      EDM rho, or null
 * @param sChurn   churn (Euler, EDM), or null
 * @param sMin     churn window start, or null
 * @param sMax     churn window end, or null
 * @param sNoise   churn noise scale, or null
 */
record SamplerChoice(Double eta, Double sigmaMin, Double sigmaMax, Double rho, Double sChurn, Double sMin, Double sMax,
                     Double sNoise) {

    private static final Set<String> SIGMA_RANGE = Set.of("euler", "euler-karras", "heun-karras", "euler-ancestral", "edm-euler", "edm-heun");
    private static final Set<String> CHURN = Set.of("euler", "euler-karras", "edm-euler", "edm-heun");

    static final SamplerChoice DEFAULTS = new SamplerChoice(null, null, null, null, null, null, null, null);

    Sampler create(String name, SchedulerConfig cfg) {
        if (!Samplers.NAMES.contains(name)) {
            throw new UserException("unknown scheduler '" + name + "'; valid: " + String.join(", ", Samplers.NAMES));
        }
        require(eta == null || name.equals("ddim"), "--eta applies to ddim only, not " + name);
        require((sigmaMin == null && sigmaMax == null) || SIGMA_RANGE.contains(name),
                "--sigma-min/--sigma-max apply to " + String.join(", ", SIGMA_RANGE) + ", not " + name);
        require(rho == null || name.startsWith("edm-"), "--rho applies to edm-euler and edm-heun only, not " + name);
        require((sChurn == null && sMin == null && sMax == null && sNoise == null) || CHURN.contains(name),
                "--s-churn/--s-min/--s-max/--s-noise apply to " + String.join(", ", CHURN) + ", not " + name);
        finite("--eta", eta, false);
        finite("--sigma-min", sigmaMin, false);
        finite("--sigma-max", sigmaMax, false);
        finite("--rho", rho, false);
        finite("--s-churn", sChurn, false);
        finite("--s-min", sMin, false);
        finite("--s-max", sMax, true);
        finite("--s-noise", sNoise, false);
        if (sigmaMin != null && sigmaMax != null && !(sigmaMin < sigmaMax)) {
            throw new UserException("--sigma-min " + sigmaMin + " must be below --sigma-max " + sigmaMax);
        }

        SchedulerConfig c = cfg;
        if (sigmaMin != null) c = c.with("sigma_min", sigmaMin);
        if (sigmaMax != null) c = c.with("sigma_max", sigmaMax);
        if (rho != null) c = c.with("rho", rho);
        SamplerOptions o = SamplerOptions.of(c).withEta(eta == null ? 0.0 : eta).withChurn(new EulerSampler.Churn(
                sChurn == null ? 0 : sChurn, sMin == null ? 0 : sMin, sMax == null ? Double.POSITIVE_INFINITY : sMax,
                sNoise == null ? 1 : sNoise));
        if (cfg.className().startsWith("EDM")) o = o.withEdmPreconditioning(cfg.number("sigma_data", 0.5));
        return Samplers.byName(name, o);
    }

    /** NaN, infinity or a negative number would make every latent NaN: refused before the model loads. */
    private static void finite(String option, Double v, boolean infinityAllowed) {
        if (v == null) return;
        boolean ok = v >= 0 && (Double.isFinite(v) || infinityAllowed && v == Double.POSITIVE_INFINITY);
        if (!ok) throw new UserException(option + " must be a " + (infinityAllowed ? "number >= 0 (or Infinity)" : "finite number >= 0") + ", got " + v);
        if ((option.equals("--sigma-min") || option.equals("--sigma-max") || option.equals("--rho")) && v == 0) {
            throw new UserException(option + " must be > 0, got " + v);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new UserException(message);
    }
}
