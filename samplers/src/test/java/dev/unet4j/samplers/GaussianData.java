package dev.unet4j.samplers;

/**
 * Data x0 ~ N(mu, sd^2) per element: the exact denoiser is D(x; s) = mu + sd^2/(sd^2+s^2) (x - mu), and the
 * probability-flow ODE dx/ds = (x - D)/s keeps (x - mu)/sqrt(sd^2 + s^2) constant, so every deterministic
 * sampler's result is known in closed form.
 */
final class GaussianData {
    final double mu;
    final double sd;

    GaussianData(double mu, double sd) {
        this.mu = mu;
        this.sd = sd;
    }

    double denoise(double x, double sigma) {
        return mu + sd * sd / (sd * sd + sigma * sigma) * (x - mu);
    }

    /** The ODE solution at {@code sigmaEnd} from x at {@code sigmaStart} (variance-exploding coordinates). */
    double solve(double x, double sigmaStart, double sigmaEnd) {
        return mu + (x - mu) * Math.sqrt(sd * sd + sigmaEnd * sigmaEnd) / Math.sqrt(sd * sd + sigmaStart * sigmaStart);
    }

    /** A diffusers-style epsilon network: input x/sqrt(s^2+1) at noise level call.sigma(). */
    Denoiser epsilonModel() {
        return (xin, call) -> {
            double s = call.sigma();
            double scale = Math.sqrt(s * s + 1);
            float[] in = xin.data();
            float[] out = new float[in.length];
            for (int i = 0; i < in.length; i++) {
                double x = in[i] * scale;
                out[i] = (float) ((x - denoise(x, s)) / s);
            }
            return xin.withData(out);
        };
    }

    /** A v-prediction network: v = alpha eps - sigma_t x0 with alpha = 1/sqrt(s^2+1), sigma_t = s alpha. */
    Denoiser vModel() {
        return (xin, call) -> {
            double s = call.sigma();
            double alpha = 1 / Math.sqrt(s * s + 1);
            float[] in = xin.data();
            float[] out = new float[in.length];
            for (int i = 0; i < in.length; i++) {
                double x = in[i] / alpha;
                double x0 = denoise(x, s);
                double eps = (x - x0) / s;
                out[i] = (float) (alpha * eps - s * alpha * x0);
            }
            return xin.withData(out);
        };
    }

    /** An EDM-preconditioned network F with c_in x as input: F = (D - c_skip x) / c_out (epsilon-type c_out). */
    Denoiser edmModel(double sigmaData) {
        return (xin, call) -> {
            double s = call.sigma();
            double sd2 = sigmaData * sigmaData;
            double cIn = 1 / Math.sqrt(s * s + sd2);
            double cSkip = sd2 / (s * s + sd2);
            double cOut = s * sigmaData / Math.sqrt(s * s + sd2);
            float[] in = xin.data();
            float[] out = new float[in.length];
            for (int i = 0; i < in.length; i++) {
                double x = in[i] / cIn;
                out[i] = (float) ((denoise(x, s) - cSkip * x) / cOut);
            }
            return xin.withData(out);
        };
    }
}
