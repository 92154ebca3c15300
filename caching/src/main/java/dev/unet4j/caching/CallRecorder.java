package dev.unet4j.caching;

import dev.unet4j.unet.CallTrace;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * Builds a generation's {@link CallReport}s: during a call, the traces of its UNet passes (nodes computed, MACs done,
 * full-compute MACs); at its end, one report with the policies' labels and the bytes held. A call's full-compute MACs
 * are those of a full pass of its batch, scaled from the first full count seen (a cheap call's own trace knows only
 * what it ran).
 */
final class CallRecorder {
    private final List<CallReport> reports = new ArrayList<>();
    private long fullPerItem = -1;

    // the call under way
    private final List<String> computed = new ArrayList<>();
    private long macs;
    private long callFull;
    private CallTrace lastTrace;
    private String servedLabel;

    /** A call begins: nothing recorded for it yet. */
    void beginCall() {
        computed.clear();
        macs = 0;
        callFull = -1;
        lastTrace = null;
        servedLabel = null;
    }

    /** One UNet pass of the current call (a forward, an encode or a decode) on a batch of {@code batch}. */
    void record(CallTrace t, int batch) {
        lastTrace = t;
        for (CallTrace.NodeRecord r : t.nodes()) {
            if (r.outcome() == CallTrace.Outcome.COMPUTED) computed.add(r.path());
        }
        macs += t.macsDone();
        if (t.fullMacs() > 0) {
            callFull = t.fullMacs();
            if (fullPerItem < 0) fullPerItem = t.fullMacs() / batch;
        }
    }

    /** The current call was evaluated ahead of time by call {@code batchedAtCall}'s batch of {@code callsInBatch}. */
    void servedFromBatch(int batchedAtCall, int callsInBatch) {
        servedLabel = "batched@" + batchedAtCall + "/" + callsInBatch;
    }

    /** The current call's last UNet pass, or null if none ran. */
    CallTrace lastTrace() {
        return lastTrace;
    }

    /** Ends the current call (output batch {@code batch}) with its report. */
    void endCall(int callIndex, GuidanceHalves halves, PolicyRuns runs, int batch, long bytesHeld, long nanos) {
        long full = fullPerItem > 0 ? fullPerItem * batch : callFull;
        reports.add(new CallReport(callIndex, label(callIndex, halves, runs), computed, macs, full, bytesHeld, nanos));
    }

    private String label(int callIndex, GuidanceHalves halves, PolicyRuns runs) {
        StringJoiner j = new StringJoiner(" ");
        if (servedLabel != null) j.add(servedLabel);
        if (halves == GuidanceHalves.COND_ONLY) j.add("cond-only");
        runs.addLabels(callIndex, j);
        return j.length() == 0 ? "full" : j.toString();
    }

    /** The calls reported so far. */
    List<CallReport> reports() {
        return reports;
    }

    /** A new generation: no calls, and the full-compute count is learnt again. */
    void clear() {
        reports.clear();
        fullPerItem = -1;
    }
}
