package dev.unet4j.bench;

import java.util.Arrays;

/**
 * Two implementations of one computation timed in alternating turns (A B A B ...), so that a shared machine's load
 * hits both alike and the ratio of a turn means something even when the absolute times move. Each side of a turn
 * starts after a pause: oneDNN's OpenMP team and ONNX Runtime's pool both leave their workers spinning after a call,
 * and the side timed right after the other would share the cores with them. Calls shorter than half a second are
 * timed in blocks of {@link #BLOCK} after one untimed call (the first call after a pause wakes the threads).
 */
final class Interleaved {
    static final int BLOCK = 5;
    static final long PAUSE_MS = 300;
    private static final double SHORT_S = 0.5;

    /** Seconds per call of each side, per turn, and each turn's B / A. */
    record Times(double[] a, double[] b) {
        double medianA() {
            return median(a);
        }

        double medianB() {
            return median(b);
        }

        /** The median over turns of B's time / A's time in that turn. */
        double medianRatio() {
            double[] r = new double[a.length];
            for (int i = 0; i < r.length; i++) r[i] = b[i] / a[i];
            return median(r);
        }
    }

    private Interleaved() {
    }

    /** Warms both (at least twice each and 2 s in all), then {@code turns} alternating turns. */
    static Times time(Runnable a, Runnable b, int turns) {
        long w0 = System.nanoTime();
        double slowest = 0;
        for (int w = 0; w < 2 || System.nanoTime() - w0 < 2_000_000_000L; w++) {
            slowest = Math.max(slowest, Math.max(seconds(a), seconds(b)));
        }
        int block = slowest < SHORT_S ? BLOCK : 1;
        double[] ta = new double[turns], tb = new double[turns];
        for (int t = 0; t < turns; t++) {
            ta[t] = turn(a, block);
            tb[t] = turn(b, block);
        }
        return new Times(ta, tb);
    }

    private static double turn(Runnable r, int block) {
        pause();
        if (block > 1) r.run();
        long t0 = System.nanoTime();
        for (int i = 0; i < block; i++) r.run();
        return (System.nanoTime() - t0) / 1e9 / block;
    }

    static double seconds(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return (System.nanoTime() - t0) / 1e9;
    }

    static void pause() {
        try {
            Thread.sleep(PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
