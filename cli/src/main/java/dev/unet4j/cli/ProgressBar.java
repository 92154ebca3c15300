package dev.unet4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on stderr ({@code [#######.....] 12/25 steps  8.1 it/s  ETA 1.6s}), redrawn with a
 * carriage return. Disabled (every call a no-op) when stderr is not a terminal ({@code System.console() == null},
 * e.g. piped or in tests) or with {@code --quiet}. Counts steps over several runs (the grid's rows).
 */
final class ProgressBar {
    private static final int WIDTH = 28;
    private final PrintWriter err;
    private final boolean enabled;
    private final int total;
    private final String label;
    private final long start = System.nanoTime();
    private int done;
    private long lastDraw;

    private ProgressBar(PrintWriter err, boolean enabled, int total, String label) {
        this.err = err;
        this.enabled = enabled;
        this.total = total;
        this.label = label;
    }

    static ProgressBar create(PrintWriter err, boolean quiet, int totalSteps, String label) {
        return new ProgressBar(err, !quiet && System.console() != null, totalSteps, label);
    }

    boolean enabled() {
        return enabled;
    }

    /** One more step finished. */
    void step() {
        done++;
        if (!enabled) return;
        long now = System.nanoTime();
        if (done < total && now - lastDraw < 50_000_000L) return; // at most 20 redraws a second
        lastDraw = now;
        err.print("\r" + render(done, total, (now - start) / 1e9, label));
        err.flush();
    }

    /** Ends the line (call once, also after a failure). */
    void finish() {
        if (enabled && done > 0) {
            err.println();
            err.flush();
        }
    }

    /** The bar's text for {@code done} of {@code total} steps after {@code seconds}. */
    static String render(int done, int total, double seconds, String label) {
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        String bar = "#".repeat(filled) + ".".repeat(WIDTH - filled);
        double rate = seconds > 0 ? done / seconds : 0;
        String eta = rate > 0 && done < total ? String.format(Locale.ROOT, "ETA %.1fs", (total - done) / rate) : "";
        if (done >= total) eta = String.format(Locale.ROOT, "%.1fs", seconds);
        return String.format(Locale.ROOT, "%s[%s] %d/%d steps  %.1f it/s  %s ", label == null ? "" : label + " ", bar, done, total, rate, eta);
    }
}
