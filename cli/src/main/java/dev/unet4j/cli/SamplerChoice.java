package dev.unet4j.cli;

import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerEntry;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.Iterator;

import static dev.unet4j.samplers.SamplerEntry.Setting.CHURN;
import static dev.unet4j.samplers.SamplerEntry.Setting.ETA;
import static dev.unet4j.samplers.SamplerEntry.Setting.RHO;
import static dev.unet4j.samplers.SamplerEntry.Setting.SIGMA_RANGE;

/**
 * Builds the {@code --scheduler} sampler from the model's scheduler config and the sampler options given on the
 * command line, by the samplers' registry ({@link Samplers#ALL}: names, and which settings each reads). An option
 * that the chosen sampler does not use is refused, so nothing is silently ignored.
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

    static final SamplerChoice DEFAULTS = new SamplerChoice(null, null, null, null, null, null, null, null);

    Sampler create(String name, SchedulerConfig cfg) {
        SamplerEntry e = Samplers.named(name).orElseThrow(
                () -> new UserException("unknown scheduler '" + name + "'; valid: " + Samplers.namesList()));
        require(eta == null || e.reads(ETA), "--eta applies to " + Samplers.namesReading(ETA) + " only, not " + name);
        require((sigmaMin == null && sigmaMax == null) || e.reads(SIGMA_RANGE),
                "--sigma-min/--sigma-max apply to " + Samplers.namesReading(SIGMA_RANGE) + ", not " + name);
        require(rho == null || e.reads(RHO), "--rho applies to " + Samplers.namesReading(RHO) + " only, not " + name);
        require((sChurn == null && sMin == null && sMax == null && sNoise == null) || e.reads(CHURN),
                "--s-churn/--s-min/--s-max/--s-noise apply to " + Samplers.namesReading(CHURN) + ", not " + name);
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
        return e.factory().apply(o);
    }

    /** The {@code --scheduler} names for picocli's help ({@code ${COMPLETION-CANDIDATES}}): the registry's. */
    static final class Names implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Samplers.NAMES.iterator();
        }
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
