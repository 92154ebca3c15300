package dev.unet4j.samplers.edm;

import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.schedule.NoiseSchedule;

/**
 * Turns a raw network F into an EDM denoiser D(x; sigma) = c_skip x + c_out F(c_in x, c_noise) (Karras et al.
 * 2022, Table 1), and gives the network's sigma range, which the EDM schedule is clamped to.
 */
public interface Preconditioning {
    double cSkip(double sigma);

    double cOut(double sigma);

    double cIn(double sigma);

    /** The timestep fed to the network for noise level sigma. */
    double timestep(double sigma);

    double sigmaMin();

    double sigmaMax();

    /**
     * EDM's own preconditioning (EDMPrecond, as diffusers' EDMEulerScheduler): c_skip = sd^2/(s^2+sd^2),
     * c_out = +-s sd / sqrt(s^2+sd^2) (negative for v-prediction), c_in = 1/sqrt(s^2+sd^2), c_noise = ln(s)/4.
     */
    static Preconditioning edm(double sigmaData, PredictionType type) {
        if (type == PredictionType.SAMPLE) throw new IllegalArgumentException("EDM preconditioning needs epsilon or v_prediction");
        double sign = type == PredictionType.V_PREDICTION ? -1 : 1;
        double sd2 = sigmaData * sigmaData;
        return new Preconditioning() {
            public double cSkip(double s) {
                return sd2 / (s * s + sd2);
            }

            public double cOut(double s) {
                return sign * s * sigmaData / Math.sqrt(s * s + sd2);
            }

            public double cIn(double s) {
                return 1 / Math.sqrt(s * s + sd2);
            }

            public double timestep(double s) {
                return 0.25 * Math.log(s);
            }

            public double sigmaMin() {
                return 0;
            }

            public double sigmaMax() {
                return Double.POSITIVE_INFINITY;
            }
        };
    }

    /**
     * An ordinary diffusers (variance-preserving) model wrapped for sigma space: the sample is x / sqrt(s^2+1) and
     * the timestep t(s) is diffusers' {@code _sigma_to_t} log-sigma interpolation over the training schedule.
     * epsilon: D = x - s eps; v: D = x/(s^2+1) - s/sqrt(s^2+1) v; sample: D = F. The range is the training
     * schedule's [sigma(0), sigma(T-1)].
     */
    static Preconditioning vp(NoiseSchedule schedule) {
        PredictionType type = schedule.predictionType();
        return new Preconditioning() {
            public double cSkip(double s) {
                return switch (type) {
                    case EPSILON -> 1;
                    case V_PREDICTION -> 1 / (s * s + 1);
                    case SAMPLE -> 0;
                };
            }

            public double cOut(double s) {
                return switch (type) {
                    case EPSILON -> -s;
                    case V_PREDICTION -> -s / Math.sqrt(s * s + 1);
                    case SAMPLE -> 1;
                };
            }

            public double cIn(double s) {
                return 1 / Math.sqrt(s * s + 1);
            }

            public double timestep(double s) {
                return schedule.sigmaToT(s);
            }

            public double sigmaMin() {
                return schedule.sigmaMin();
            }

            public double sigmaMax() {
                return schedule.sigmaMax();
            }
        };
    }
}
