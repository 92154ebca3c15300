package dev.unet4j.server;

import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Maps the sampler names clients send to unet4j's sampler registry ({@link Samplers#NAMES}): unet4j's own names,
 * and AUTOMATIC1111's {@code sampler_name} values (with its separate {@code scheduler} field: "Karras" picks the
 * Karras sigma variant). A name with no unet4j sampler is refused, never replaced by another sampler.
 */
public final class SamplerNames {
    /** A1111 sampler names (lower case) to unet4j names. */
    private static final Map<String, String> A1111 = new LinkedHashMap<>();

    static {
        A1111.put("ddim", "ddim");
        A1111.put("euler", "euler");
        A1111.put("euler karras", "euler-karras");
        A1111.put("euler a", "euler-ancestral");
        A1111.put("heun karras", "heun-karras");
        A1111.put("dpm++ 2m", "dpmpp-2m");
        A1111.put("dpm++ 2m karras", "dpmpp-2m-karras");
        A1111.put("plms", "pndm");
        A1111.put("lms", "lms");
        A1111.put("lms karras", "lms-karras");
    }

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
        if (Samplers.NAMES.contains(n)) {
            if (!karras || n.endsWith("-karras")) return n;
            if (Samplers.NAMES.contains(n + "-karras")) return n + "-karras";
            throw ApiException.badField("scheduler", "sampler " + n + " has no Karras variant");
        }
        if (karras && !n.endsWith(" karras")) n = n + " karras";
        String mapped = A1111.get(n);
        if (mapped == null) {
            throw ApiException.badField(field, "unknown sampler '" + samplerName + "'; valid: " + String.join(", ", Samplers.NAMES)
                    + " or the A1111 names DDIM, PLMS, LMS, LMS Karras, Euler, Euler a, Heun (scheduler Karras), DPM++ 2M, DPM++ 2M Karras");
        }
        return mapped;
    }
}
