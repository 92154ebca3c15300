package dev.unet4j.server;

import dev.unet4j.samplers.SamplerEntry;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.Locale;

/**
 * Maps the sampler names clients send to unet4j's sampler registry ({@link Samplers#ALL}): unet4j's own names, and
 * its aliases, AUTOMATIC1111's {@code sampler_name} values (with A1111's separate {@code scheduler} field: "Karras"
 * picks the Karras sigma variant). A name with no unet4j sampler is refused, never replaced by another sampler.
 */
public final class SamplerNames {
    private SamplerNames() {
    }

    /**
     * The unet4j sampler for an A1111 {@code sampler_name} and optional {@code scheduler} ("Automatic", "Karras",
     * "Uniform"/"Normal" or null), or for a unet4j name.
     *
     * @throws ApiException 400 naming {@code field} for an unknown name
     */
    public static String resolve(String samplerName, String scheduler, String field) {
        String n = samplerName.strip().toLowerCase(Locale.ROOT);
        String s = scheduler == null ? "automatic" : scheduler.strip().toLowerCase(Locale.ROOT);
        if (!s.equals("automatic") && !s.equals("uniform") && !s.equals("normal") && !s.equals("karras")) {
            throw ApiException.badField("scheduler", "unknown scheduler '" + scheduler + "'; valid: Automatic, Uniform, Karras");
        }
        boolean karras = s.equals("karras");
        if (Samplers.named(n).isPresent()) {
            if (!karras || n.endsWith("-karras")) return n;
            if (Samplers.named(n + "-karras").isPresent()) return n + "-karras";
            throw ApiException.badField("scheduler", "sampler " + n + " has no Karras variant");
        }
        if (karras && !n.endsWith(" karras")) n = n + " karras";
        return Samplers.resolve(n).map(SamplerEntry::name).orElseThrow(() -> ApiException.badField(field, "unknown sampler '"
                + samplerName + "'; valid: " + Samplers.namesList() + " or the A1111 names " + String.join(", ",
                Samplers.ALL.stream().flatMap(e -> e.aliases().stream()).toList()) + " (with scheduler Karras: the Karras variant)"));
    }
}
