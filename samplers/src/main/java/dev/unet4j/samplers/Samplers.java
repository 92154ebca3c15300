package dev.unet4j.samplers;

import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.edm.EdmOptions;
import dev.unet4j.samplers.edm.EdmSampler;
import dev.unet4j.samplers.edm.Preconditioning;
import dev.unet4j.samplers.kdiffusion.DpmSolverSampler;
import dev.unet4j.samplers.kdiffusion.EulerAncestralSampler;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.kdiffusion.HeunSampler;
import dev.unet4j.samplers.kdiffusion.LmsSampler;
import dev.unet4j.samplers.kdiffusion.SigmaOptions;
import dev.unet4j.samplers.pndm.PndmSampler;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static dev.unet4j.samplers.SamplerEntry.Setting.CHURN;
import static dev.unet4j.samplers.SamplerEntry.Setting.ETA;
import static dev.unet4j.samplers.SamplerEntry.Setting.RHO;
import static dev.unet4j.samplers.SamplerEntry.Setting.SIGMA_RANGE;

/**
 * The registry of named samplers: each name with its description, aliases (AUTOMATIC1111's names), the settings it
 * reads and its factory. The CLI's {@code --scheduler} (parsing and help), the server and the Spark jobs all read it,
 * so a sampler added here is offered everywhere.
 */
public final class Samplers {
    private Samplers() {
    }

    /** Every sampler, in the order help texts list them. */
    public static final List<SamplerEntry> ALL = List.of(
            new SamplerEntry("ddim", "DDIM (Song et al.), eta 0 by default", List.of("DDIM"), Set.of(ETA),
                    o -> {
                        DdimSampler d = DdimSampler.fromConfig(o.config());
                        return d.withOptions(d.options().withEta(o.eta()));
                    }),
            new SamplerEntry("euler", "Euler on k-diffusion sigmas", List.of("Euler"), Set.of(SIGMA_RANGE, CHURN), o -> euler(o, false)),
            new SamplerEntry("euler-karras", "Euler on Karras sigmas", List.of("Euler Karras"), Set.of(SIGMA_RANGE, CHURN), o -> euler(o, true)),
            new SamplerEntry("heun-karras", "Heun (2nd order) on Karras sigmas", List.of("Heun Karras"), Set.of(SIGMA_RANGE),
                    o -> HeunSampler.fromConfig(o.config()).withOptions(SigmaOptions.fromConfig(o.config()).withKarras(true))),
            new SamplerEntry("euler-ancestral", "Euler ancestral (adds noise every step)", List.of("Euler a"), Set.of(SIGMA_RANGE),
                    o -> EulerAncestralSampler.fromConfig(o.config())),
            new SamplerEntry("dpmpp-2m", "DPM-Solver++ (2M)", List.of("DPM++ 2M"), Set.of(), o -> dpmpp(o, false)),
            new SamplerEntry("dpmpp-2m-karras", "DPM-Solver++ (2M) on Karras sigmas", List.of("DPM++ 2M Karras"), Set.of(), o -> dpmpp(o, true)),
            new SamplerEntry("edm-euler", "EDM Euler (Karras et al. 2022)", List.of(), Set.of(SIGMA_RANGE, RHO, CHURN), o -> edm(o, false)),
            new SamplerEntry("edm-heun", "EDM Heun (Karras et al. 2022)", List.of(), Set.of(SIGMA_RANGE, RHO, CHURN), o -> edm(o, true)),
            new SamplerEntry("pndm", "PNDM / PLMS (Liu et al.), diffusers' skip_prk_steps", List.of("PLMS"), Set.of(),
                    o -> PndmSampler.fromConfig(o.config())),
            new SamplerEntry("lms", "linear multistep on k-diffusion sigmas", List.of("LMS"), Set.of(), o -> lms(o, false)),
            new SamplerEntry("lms-karras", "linear multistep on Karras sigmas", List.of("LMS Karras"), Set.of(), o -> lms(o, true)));

    /** The names of {@link #ALL}, in order. */
    public static final List<String> NAMES = ALL.stream().map(SamplerEntry::name).toList();

    private static final Map<String, SamplerEntry> BY_NAME = index(false);
    private static final Map<String, SamplerEntry> BY_NAME_OR_ALIAS = index(true);

    private static Map<String, SamplerEntry> index(boolean withAliases) {
        Map<String, SamplerEntry> m = new LinkedHashMap<>();
        for (SamplerEntry e : ALL) {
            if (m.put(e.name(), e) != null) throw new IllegalStateException("sampler name " + e.name() + " is taken twice");
            for (String alias : withAliases ? e.aliases() : List.<String>of()) {
                String a = alias.toLowerCase(Locale.ROOT);
                if (a.equals(e.name())) continue; // "DDIM" for ddim: the name in another case
                if (m.put(a, e) != null) throw new IllegalStateException("sampler alias " + a + " is taken twice");
            }
        }
        return Map.copyOf(m);
    }

    /** The sampler called exactly {@code name} (one of {@link #NAMES}), if any. */
    public static Optional<SamplerEntry> named(String name) {
        return Optional.ofNullable(name == null ? null : BY_NAME.get(name));
    }

    /** The sampler a name or alias names, case and surrounding blanks ignored (clients' names), if any. */
    public static Optional<SamplerEntry> resolve(String nameOrAlias) {
        if (nameOrAlias == null) return Optional.empty();
        return Optional.ofNullable(BY_NAME_OR_ALIAS.get(nameOrAlias.strip().toLowerCase(Locale.ROOT)));
    }

    /** The names of the samplers that read {@code setting}, in registry order: "a, b". */
    public static String namesReading(SamplerEntry.Setting setting) {
        return String.join(", ", ALL.stream().filter(e -> e.reads(setting)).map(SamplerEntry::name).toList());
    }

    /** "a, b, c": the names, for error messages. */
    public static String namesList() {
        return String.join(", ", NAMES);
    }

    /**
     * The sampler name of a diffusers scheduler class, as a pipeline's {@code scheduler_config.json} selects it:
     * DDIMScheduler ddim, PNDMScheduler pndm, LMSDiscreteScheduler lms (lms-karras with use_karras_sigmas),
     * EulerDiscreteScheduler euler(-karras), HeunDiscreteScheduler heun-karras, EulerAncestralDiscreteScheduler
     * euler-ancestral, DPMSolverMultistepScheduler dpmpp-2m(-karras), EDMEulerScheduler edm-euler.
     *
     * @throws IllegalArgumentException for a class unet4j has no sampler for, naming the known classes
     */
    public static String forSchedulerClass(SchedulerConfig cfg) {
        boolean karras = cfg.bool("use_karras_sigmas", false);
        return switch (cfg.className()) {
            case "DDIMScheduler" -> "ddim";
            case "PNDMScheduler" -> "pndm";
            case "LMSDiscreteScheduler" -> karras ? "lms-karras" : "lms";
            case "EulerDiscreteScheduler" -> karras ? "euler-karras" : "euler";
            case "HeunDiscreteScheduler" -> "heun-karras";
            case "EulerAncestralDiscreteScheduler" -> "euler-ancestral";
            case "DPMSolverMultistepScheduler" -> karras ? "dpmpp-2m-karras" : "dpmpp-2m";
            case "EDMEulerScheduler" -> "edm-euler";
            default -> throw new IllegalArgumentException(cfg.source() + ": scheduler class '" + cfg.className()
                    + "' has no unet4j sampler; known classes: DDIMScheduler, PNDMScheduler, LMSDiscreteScheduler,"
                    + " EulerDiscreteScheduler, HeunDiscreteScheduler, EulerAncestralDiscreteScheduler,"
                    + " DPMSolverMultistepScheduler, EDMEulerScheduler (choose a sampler by name instead)");
        };
    }

    /**
     * The sampler a UNet folder's scheduler config selects where no pipeline drives it (the CLI's {@code generate},
     * {@code bench}, the server's class-conditional models): {@link #forSchedulerClass} for the k-diffusion, DPM-Solver
     * and EDM classes, ddim for every other class (PNDM, LMS, DDPM, none) — the UNet path's default.
     */
    public static String unetDefault(SchedulerConfig cfg) {
        return switch (cfg.className()) {
            case "EulerDiscreteScheduler", "HeunDiscreteScheduler", "EulerAncestralDiscreteScheduler",
                 "DPMSolverMultistepScheduler", "EDMEulerScheduler" -> forSchedulerClass(cfg);
            default -> "ddim";
        };
    }

    /**
     * The sampler called {@code name} (one of {@link #NAMES}), configured from the model's scheduler config
     * (diffusers' from_config: fields of other scheduler classes are ignored, missing ones take this sampler's defaults).
     *
     * @throws IllegalArgumentException for an unknown name, listing the valid ones
     */
    public static Sampler byName(String name, SamplerOptions options) {
        SamplerEntry e = named(name).orElseThrow(() -> new IllegalArgumentException("unknown scheduler '" + name
                + "'; valid names: " + namesList()));
        return e.factory().apply(options);
    }

    private static Sampler euler(SamplerOptions o, boolean karras) {
        NoiseSchedule ns = NoiseSchedule.fromConfig(o.config(), true);
        return new EulerSampler(ns, SigmaOptions.fromConfig(o.config()).withKarras(karras), o.churn());
    }

    private static Sampler lms(SamplerOptions o, boolean karras) {
        return LmsSampler.fromConfig(o.config()).withOptions(SigmaOptions.fromConfig(o.config()).withKarras(karras));
    }

    private static Sampler dpmpp(SamplerOptions o, boolean karras) {
        DpmSolverSampler d = DpmSolverSampler.fromConfig(o.config());
        return d.withOptions(DpmSolverSampler.Options.fromConfig(o.config()).withKarras(karras));
    }

    private static Sampler edm(SamplerOptions o, boolean heun) {
        SchedulerConfig cfg = o.config();
        Preconditioning p = o.edmPreconditioned()
                ? Preconditioning.edm(o.sigmaData(), cfg.predictionType())
                : Preconditioning.vp(NoiseSchedule.fromConfig(cfg, true));
        EulerSampler.Churn c = o.churn();
        EdmOptions opts = EdmOptions.defaults(heun)
                .withSigmaRange(cfg.number("sigma_min", 0.002), cfg.number("sigma_max", 80), cfg.number("rho", 7))
                .withChurn(c.sChurn(), c.sTmin(), c.sTmax(), c.sNoise());
        return new EdmSampler(p, opts);
    }
}
