package dev.unet4j.samplers.edm;

import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.SamplingRun;
import dev.unet4j.samplers.schedule.KarrasSigmas;
import dev.unet4j.samplers.schedule.TorchMath;

/**
 * Karras et al. 2022 Algorithm 2 (NVlabs/edm generate.py {@code edm_sampler}), in float64 as generate.py:
 * sigmas t_i = (max^(1/rho) + i/(N-1)(min^(1/rho) - max^(1/rho)))^rho with t_N = 0, clamped to the model's range;
 * x_0 = noise * t_0; per step optional churn (gamma = min(S_churn/N, sqrt2 - 1) inside [S_tmin, S_tmax]), an Euler
 * step, and for Heun a trapezoidal correction on every step but the last. The network is evaluated on float32
 * inputs c_in x at c_noise / t(sigma) through the {@link Preconditioning}.
 */
public final class EdmSampler implements Sampler {
    private final Preconditioning precond;
    private final EdmOptions options;

    public EdmSampler(Preconditioning precond, EdmOptions options) {
        this.precond = precond;
        this.options = options;
    }

    @Override
    public String name() {
        return options.heun() ? "edm-heun" : "edm-euler";
    }

    public EdmOptions options() {
        return options;
    }

    /** t_0 .. t_{N-1} followed by t_N = 0. */
    public double[] sigmas(int steps) {
        double[] body;
        if (options.customSigmas() != null) {
            body = options.customSigmas();
        } else {
            double min = Math.max(options.sigmaMin(), precond.sigmaMin());
            double max = Math.min(options.sigmaMax(), precond.sigmaMax());
            body = options.float32Schedule() ? karrasF32(min, max, options.rho(), steps)
                    : KarrasSigmas.of(min, max, options.rho(), steps);
        }
        double[] out = new double[body.length + 1];
        System.arraycopy(body, 0, out, 0, body.length);
        return out;
    }

    /** diffusers EDMEulerScheduler._compute_karras_sigmas: float32 torch ramp and ops. */
    private static double[] karrasF32(double min, double max, double rho, int n) {
        float[] ramp = TorchMath.linspaceF32(0, 1, n);
        float minInv = (float) Math.pow(min, 1 / rho);
        float maxInv = (float) Math.pow(max, 1 / rho);
        float span = (float) (Math.pow(min, 1 / rho) - Math.pow(max, 1 / rho));
        double[] out = new double[n];
        for (int i = 0; i < n; i++) out[i] = (float) Math.pow(maxInv + ramp[i] * span, (float) rho);
        return out;
    }

    /** D(x; sigma) in double from one float32 network evaluation. */
    private double[] denoise(SamplingRun run, double[] x, int[] shape, double sigma, int step) {
        double cIn = precond.cIn(sigma);
        float[] in = new float[x.length];
        for (int i = 0; i < x.length; i++) in[i] = (float) (cIn * x[i]);
        Latents f = run.evaluate(new Latents(in, shape.clone()), step, precond.timestep(sigma), sigma);
        double cSkip = precond.cSkip(sigma);
        double cOut = precond.cOut(sigma);
        float[] fd = f.data();
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) d[i] = cSkip * x[i] + cOut * fd[i];
        return d;
    }

    @Override
    public Latents sample(Denoiser model, SamplingRequest req) {
        double[] t = sigmas(req.steps());
        int n = t.length - 1;
        int begin = req.startStep();
        int[] shape = req.shape();
        float[] noise = req.noise().initial(shape).data();
        double[] x = new double[noise.length];
        if (req.initImage() == null) {
            for (int i = 0; i < x.length; i++) x[i] = noise[i] * t[0];
        } else {
            float[] x0 = req.initImage().data();
            for (int i = 0; i < x.length; i++) x[i] = x0[i] + noise[i] * t[begin];
        }
        SamplingRun run = new SamplingRun(model, req, n - begin);
        for (int i = begin; i < n; i++) {
            int step = i - begin;
            double tCur = t[i];
            double tNext = t[i + 1];
            double gamma = options.sTmin() <= tCur && tCur <= options.sTmax()
                    ? Math.min(options.sChurn() / n, Math.sqrt(2) - 1) : 0;
            double tHat = tCur + gamma * tCur;
            if (run.hasLatentHook()) x = hooked(run, step, precond.timestep(tHat), tHat, x, shape);
            double[] xHat = x;
            if (options.sChurn() > 0) {
                float[] z = run.stepNoise(step).data();
                double amp = Math.sqrt(tHat * tHat - tCur * tCur) * options.sNoise();
                xHat = new double[x.length];
                for (int k = 0; k < x.length; k++) xHat[k] = x[k] + amp * z[k];
            }
            double[] denoised = denoise(run, xHat, shape, tHat, step);
            double[] dCur = new double[x.length];
            double[] next = new double[x.length];
            for (int k = 0; k < x.length; k++) {
                dCur[k] = (xHat[k] - denoised[k]) / tHat;
                next[k] = xHat[k] + (tNext - tHat) * dCur[k];
            }
            if (options.heun() && i < n - 1) {
                denoised = denoise(run, next, shape, tNext, step);
                for (int k = 0; k < x.length; k++) {
                    double dPrime = (next[k] - denoised[k]) / tNext;
                    next[k] = xHat[k] + (tNext - tHat) * (0.5 * dCur[k] + 0.5 * dPrime);
                }
            }
            x = next;
            run.completed(step, precond.timestep(tHat), tHat, toLatents(x, shape), toLatents(denoised, shape));
        }
        return toLatents(x, shape);
    }

    /** The latent hook on a float32 view of {@code x}; its edit, if any, is added to {@code x} as a difference. */
    private static double[] hooked(SamplingRun run, int step, double timestep, double sigma, double[] x, int[] shape) {
        Latents view = toLatents(x, shape);
        Latents edited = run.beginStep(step, timestep, sigma, view);
        if (edited == view) return x;
        float[] a = view.data();
        float[] b = edited.data();
        double[] out = new double[x.length];
        for (int k = 0; k < x.length; k++) out[k] = x[k] + ((double) b[k] - a[k]);
        return out;
    }

    private static Latents toLatents(double[] d, int[] shape) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return new Latents(f, shape.clone());
    }
}
