package dev.unet4j.samplers;

import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.edm.EdmOptions;
import dev.unet4j.samplers.edm.EdmSampler;
import dev.unet4j.samplers.edm.Preconditioning;
import dev.unet4j.samplers.kdiffusion.DpmSolverSampler;
import dev.unet4j.samplers.kdiffusion.EulerAncestralSampler;
import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.kdiffusion.HeunSampler;
import dev.unet4j.samplers.kdiffusion.SigmaOptions;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.List;

/** The named samplers of the CLI's {@code --scheduler}. */
public final class Samplers {
    private Samplers() {
    }

    public static final List<String> NAMES = List.of("ddim", "euler", "euler-karras", "heun-karras", "euler-ancestral",
            "dpmpp-2m", "dpmpp-2m-karras", "edm-euler", "edm-heun");

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
            default -> throw new IllegalArgumentException("unknown scheduler '" + name + "'; valid names: "
                    + String.join(", ", NAMES));
        };
    }
}
