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

import java.util.List;

/** The named samplers of the CLI's {@code --scheduler}. */
public final class Samplers {
    private Samplers() {
    }

    public static final List<String> NAMES = List.of("ddim", "euler", "euler-karras", "heun-karras", "euler-ancestral",
            "dpmpp-2m", "dpmpp-2m-karras", "edm-euler", "edm-heun", "pndm", "lms", "lms-karras");

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
     * The sampler called {@code name}, configured from the model's scheduler config (diffusers' from_config:
     * fields of other scheduler classes are ignored, missing ones take this sampler's defaults).
     *
     * @throws IllegalArgumentException for an unknown name, listing the valid ones
     */
    public static Sampler byName(String name, SamplerOptions options) {
        SchedulerConfig cfg = options.config();
        return switch (name) {
            case "ddim" -> {
                DdimSampler d = DdimSampler.fromConfig(cfg);
                yield d.withOptions(d.options().withEta(options.eta()));
            }
            case "euler", "euler-karras" -> {
                NoiseSchedule ns = NoiseSchedule.fromConfig(cfg, true);
                SigmaOptions so = SigmaOptions.fromConfig(cfg).withKarras(name.equals("euler-karras"));
                yield new EulerSampler(ns, so, options.churn());
            }
            case "heun-karras" -> {
                HeunSampler h = HeunSampler.fromConfig(cfg);
                yield h.withOptions(SigmaOptions.fromConfig(cfg).withKarras(true));
            }
            case "euler-ancestral" -> EulerAncestralSampler.fromConfig(cfg);
            case "dpmpp-2m", "dpmpp-2m-karras" -> {
                DpmSolverSampler d = DpmSolverSampler.fromConfig(cfg);
                yield d.withOptions(DpmSolverSampler.Options.fromConfig(cfg).withKarras(name.endsWith("-karras")));
            }
            case "edm-euler", "edm-heun" -> {
                Preconditioning p = options.edmPreconditioned()
                        ? Preconditioning.edm(options.sigmaData(), cfg.predictionType())
                        : Preconditioning.vp(NoiseSchedule.fromConfig(cfg, true));
                EulerSampler.Churn c = options.churn();
                EdmOptions o = EdmOptions.defaults(name.equals("edm-heun"))
                        .withSigmaRange(cfg.number("sigma_min", 0.002), cfg.number("sigma_max", 80), cfg.number("rho", 7))
                        .withChurn(c.sChurn(), c.sTmin(), c.sTmax(), c.sNoise());
                yield new EdmSampler(p, o);
            }
            case "pndm" -> PndmSampler.fromConfig(cfg);
            case "lms", "lms-karras" -> {
                LmsSampler l = LmsSampler.fromConfig(cfg);
                yield l.withOptions(SigmaOptions.fromConfig(cfg).withKarras(name.equals("lms-karras")));
            }
            default -> throw new IllegalArgumentException("unknown scheduler '" + name + "'; valid names: "
                    + String.join(", ", NAMES));
        };
    }
}
