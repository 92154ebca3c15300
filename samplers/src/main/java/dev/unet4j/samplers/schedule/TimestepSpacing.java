package dev.unet4j.samplers.schedule;

import java.util.Locale;

/**
 * diffusers' {@code timestep_spacing} ("Common Diffusion Noise Schedules and Sample Steps are Flawed", Table 2),
 * with the exact per-class formulas: DDIM and DPM-Solver produce int64 timesteps, the Euler family float32.
 */
public enum TimestepSpacing {
    LINSPACE, LEADING, TRAILING;

    public static TimestepSpacing fromConfig(String name, String source) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": timestep_spacing '" + name
                    + "' is not supported; expected linspace, leading or trailing");
        }
    }

    /** DDIMScheduler.set_timesteps: descending int timesteps. */
    public long[] ddim(int trainSteps, int n, int stepsOffset) {
        checkSteps(trainSteps, n);
        long[] out = new long[n];
        switch (this) {
            case LINSPACE -> {
                double[] lin = numpyLinspace(0, trainSteps - 1, n);
                for (int i = 0; i < n; i++) out[i] = (long) Math.rint(lin[n - 1 - i]);
            }
            case LEADING -> {
                int ratio = trainSteps / n;
                for (int i = 0; i < n; i++) out[i] = (long) (n - 1 - i) * ratio + stepsOffset;
            }
            case TRAILING -> {
                double[] ar = numpyArange(trainSteps, 0, -(double) trainSteps / n);
                out = new long[ar.length];
                for (int i = 0; i < ar.length; i++) out[i] = (long) Math.rint(ar[i]) - 1;
            }
        }
        return out;
    }

    /** EulerDiscrete/HeunDiscrete/EulerAncestralDiscrete.set_timesteps: descending float32 timesteps. */
    public float[] kdiffusion(int trainSteps, int n, int stepsOffset) {
        checkSteps(trainSteps, n);
        float[] out;
        switch (this) {
            case LINSPACE -> {
                double[] lin = numpyLinspace(0, trainSteps - 1, n);
                out = new float[n];
                for (int i = 0; i < n; i++) out[i] = (float) lin[n - 1 - i];
            }
            case LEADING -> {
                int ratio = trainSteps / n;
                out = new float[n];
                for (int i = 0; i < n; i++) out[i] = (float) ((long) (n - 1 - i) * ratio) + stepsOffset;
            }
            default -> {
                double[] ar = numpyArange(trainSteps, 0, -(double) trainSteps / n);
                out = new float[ar.length];
                for (int i = 0; i < ar.length; i++) out[i] = (float) Math.rint(ar[i]) - 1;
            }
        }
        return out;
    }

    /** DPMSolverMultistepScheduler.set_timesteps (lambda_min_clipped = -inf): descending int timesteps. */
    public long[] dpmSolver(int trainSteps, int n, int stepsOffset) {
        checkSteps(trainSteps, n);
        long[] out = new long[n];
        switch (this) {
            case LINSPACE -> {
                double[] lin = numpyLinspace(0, trainSteps - 1, n + 1);
                for (int i = 0; i < n; i++) out[i] = (long) Math.rint(lin[n - i]);
            }
            case LEADING -> {
                int ratio = trainSteps / (n + 1);
                for (int i = 0; i < n; i++) out[i] = (long) (n - i) * ratio + stepsOffset;
            }
            case TRAILING -> {
                double[] ar = numpyArange(trainSteps, 0, -(double) trainSteps / n);
                out = new long[ar.length];
                for (int i = 0; i < ar.length; i++) out[i] = (long) Math.rint(ar[i]) - 1;
            }
        }
        return out;
    }

    private static void checkSteps(int trainSteps, int n) {
        if (n < 1) throw new IllegalArgumentException("number of inference steps must be >= 1, got " + n);
        if (n > trainSteps) {
            throw new IllegalArgumentException(n + " inference steps exceed the " + trainSteps + " training timesteps");
        }
    }

    /** np.linspace(start, stop, num) with endpoint: arange(num) * step + start, last element = stop. */
    static double[] numpyLinspace(double start, double stop, int num) {
        double[] out = new double[num];
        if (num == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) out[i] = i * step + start;
        out[num - 1] = stop;
        return out;
    }

    /** np.arange(start, stop, step) for floats: ceil((stop-start)/step) values start + i*step. */
    static double[] numpyArange(double start, double stop, double step) {
        int len = (int) Math.max(0, Math.ceil((stop - start) / step));
        double[] out = new double[len];
        for (int i = 0; i < len; i++) out[i] = start + i * step;
        return out;
    }
}
