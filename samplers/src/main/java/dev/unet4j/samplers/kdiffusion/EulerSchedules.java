package dev.unet4j.samplers.kdiffusion;

import dev.unet4j.samplers.PredictionType;
import dev.unet4j.samplers.schedule.KarrasSigmas;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.TimestepSpacing;

/** {@code set_timesteps} of diffusers' EulerDiscrete / HeunDiscrete / EulerAncestralDiscrete schedulers (v0.31). */
final class EulerSchedules {
    private EulerSchedules() {
    }

    /**
     * The un-repeated schedule: n timesteps (double values of what diffusers stores) and n+1 float32 sigmas.
     * Karras sigmas are spaced between the sigmas interpolated at the first and last SPACED timestep (so with
     * "leading" spacing sigma_max is sigma(901), not sigma(999), for 10 steps), and their timesteps are
     * {@code _sigma_to_t}.
     */
    static double[][] build(NoiseSchedule ns, SigmaOptions o, int steps, boolean allowFinalSigmaMin) {
        double[] sig;
        double[] ts;
        if (o.customSigmas() != null) {
            float[] s32 = new float[o.customSigmas().length];
            for (int i = 0; i < s32.length; i++) s32[i] = (float) o.customSigmas()[i];
            ts = new double[s32.length - 1];
            for (int i = 0; i < ts.length; i++) ts[i] = ns.sigmaToT(s32[i]);
            sig = new double[s32.length];
            for (int i = 0; i < sig.length; i++) sig[i] = s32[i];
            return new double[][] {ts, sig};
        }
        float[] t32 = o.customTimesteps() != null ? o.customTimesteps()
                : o.spacing().kdiffusion(ns.numTrainTimesteps(), steps, o.stepsOffset());
        int n = t32.length;
        ts = new double[n];
        double[] body = new double[n];
        for (int i = 0; i < n; i++) {
            ts[i] = t32[i];
            body[i] = ns.interpolateSigma(t32[i]);
        }
        if (o.useKarrasSigmas()) {
            double min = o.sigmaMin() != null ? o.sigmaMin() : body[n - 1];
            double max = o.sigmaMax() != null ? o.sigmaMax() : body[0];
            body = KarrasSigmas.of(min, max, 7.0, n);
            for (int i = 0; i < n; i++) ts[i] = ns.sigmaToT(body[i]);
        }
        sig = new double[n + 1];
        System.arraycopy(body, 0, sig, 0, n);
        sig[n] = allowFinalSigmaMin && o.finalSigmaMin() ? ns.sigmaMin() : 0.0;
        return new double[][] {ts, sig};
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** EulerDiscreteScheduler: float32 timesteps (or 0.25 ln sigma for continuous v-prediction). */
    static DiscreteSchedule euler(NoiseSchedule ns, SigmaOptions o, int steps) {
        double[][] b = build(ns, o, steps, true);
        float[] sigmas = toFloat(b[1]);
        double[] ts = new double[b[0].length];
        for (int i = 0; i < ts.length; i++) {
            ts[i] = o.continuousTimesteps() && ns.predictionType() == PredictionType.V_PREDICTION
                    ? (float) (0.25 * (float) Math.log(sigmas[i])) : (float) b[0][i];
        }
        return new DiscreteSchedule(ts, sigmas, DiscreteSchedule.initNoiseSigma(sigmas, o.spacing() == TimestepSpacing.LEADING), 1);
    }

    /** EulerAncestralDiscreteScheduler (v0.31 has no Karras option): float32 timesteps, final sigma 0. */
    static DiscreteSchedule eulerAncestral(NoiseSchedule ns, SigmaOptions o, int steps) {
        double[][] b = build(ns, o.withKarras(false), steps, false);
        float[] sigmas = toFloat(b[1]);
        return new DiscreteSchedule(toFloatValues(b[0]), sigmas,
                DiscreteSchedule.initNoiseSigma(sigmas, o.spacing() == TimestepSpacing.LEADING), 1);
    }

    /**
     * HeunDiscreteScheduler: sigmas [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0] and timesteps [t0, t1, t1, ..., t_{n-1},
     * t_{n-1}] (repeat_interleave), timesteps kept in float64 as diffusers does on CPU.
     */
    static DiscreteSchedule heun(NoiseSchedule ns, SigmaOptions o, int steps) {
        double[][] b = build(ns, o, steps, false);
        double[] t = b[0];
        float[] s = toFloat(b[1]);
        int n = t.length;
        double[] ts = new double[2 * n - 1];
        float[] sig = new float[2 * n];
        ts[0] = t[0];
        sig[0] = s[0];
        for (int i = 1; i < n; i++) {
            ts[2 * i - 1] = t[i];
            ts[2 * i] = t[i];
            sig[2 * i - 1] = s[i];
            sig[2 * i] = s[i];
        }
        sig[2 * n - 1] = s[n];
        return new DiscreteSchedule(ts, sig, DiscreteSchedule.initNoiseSigma(sig, o.spacing() == TimestepSpacing.LEADING), 2);
    }

    private static double[] toFloatValues(double[] d) {
        double[] out = new double[d.length];
        for (int i = 0; i < d.length; i++) out[i] = (float) d[i];
        return out;
    }
}
