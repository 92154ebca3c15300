package dev.unet4j.caching;

import java.util.List;

/**
 * A generation's calls and totals.
 *
 * @param policy     the policy's text form
 * @param calls      one report per call
 * @param peakBytes  the most bytes the caches held at once
 */
public record GenerationReport(String policy, List<CallReport> calls, long peakBytes) {
    public GenerationReport {
        calls = List.copyOf(calls);
    }

    public long macsDone() {
        return calls.stream().mapToLong(CallReport::macsDone).sum();
    }

    public long fullMacs() {
        return calls.stream().mapToLong(CallReport::fullMacs).sum();
    }

    /** Full-compute MACs over computed MACs: the speedup the MAC count predicts. */
    public double predictedSpeedup() {
        return (double) fullMacs() / macsDone();
    }

    public long nanos() {
        return calls.stream().mapToLong(CallReport::nanos).sum();
    }

    /** One line per call: index, mode, MAC fraction, bytes. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        for (CallReport c : calls) {
            sb.append(String.format("%4d  %-28s %6.1f%%  %,12d B%n", c.callIndex(), c.mode(),
                    100.0 * c.macsDone() / Math.max(1, c.fullMacs()), c.bytesHeld()));
        }
        return sb.toString();
    }
}
