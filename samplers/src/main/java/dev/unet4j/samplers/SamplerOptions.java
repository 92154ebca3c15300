package dev.unet4j.samplers;

import dev.unet4j.samplers.kdiffusion.EulerSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;

import java.util.Objects;

/**
 * What {@link Samplers#byName} needs beyond the name.
 *
 * @param config             the model's scheduler_config.json (training schedule, prediction type, spacing, ...)
 * @param eta                DDIM eta
 * @param edmPreconditioned  for edm-*: the network is EDM-preconditioned (c_noise timesteps); otherwise it is an
 *                           ordinary epsilon/v diffusers model wrapped for sigma space
 * @param sigmaData          EDM sigma_data (0.5)
 * @param churn              stochasticity for euler and edm-* (S_churn, S_tmin, S_tmax, S_noise)
 */
public record SamplerOptions(SchedulerConfig config, double eta, boolean edmPreconditioned, double sigmaData,
                             EulerSampler.Churn churn) {
    public SamplerOptions {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(churn, "churn");
        if (!Double.isFinite(eta) || eta < 0) throw new IllegalArgumentException("eta must be a finite number >= 0, got " + eta);
        if (!(sigmaData > 0) || !Double.isFinite(sigmaData)) throw new IllegalArgumentException("sigma_data must be a finite number > 0, got " + sigmaData);
    }

    public static SamplerOptions of(SchedulerConfig config) {
        return new SamplerOptions(config, 0.0, false, 0.5, EulerSampler.Churn.NONE);
    }

    public SamplerOptions withEta(double newEta) {
        return new SamplerOptions(config, newEta, edmPreconditioned, sigmaData, churn);
    }

    public SamplerOptions withEdmPreconditioning(double newSigmaData) {
        return new SamplerOptions(config, eta, true, newSigmaData, churn);
    }

    public SamplerOptions withChurn(EulerSampler.Churn newChurn) {
        return new SamplerOptions(config, eta, edmPreconditioned, sigmaData, newChurn);
    }
}
