package dev.unet4j.server;

import java.util.List;
import java.util.function.Supplier;

/**
 * One queued or running generation: its progress (steps, latest preview), its outcome, and a cancel flag that the
 * sampler's step callback reads, so a cancelled job stops after its current step. Watchers (request threads
 * waiting for the result, server-sent-event streams) wait on {@link #awaitChange} with a timeout.
 */
public final class Job {
    /** Where a job is. */
    public enum State { QUEUED, RUNNING, DONE, CANCELLED, FAILED }

    private final String id;
    private final ImageBackend backend;
    private final ImageRequest request;
    private final long createdNanos = System.nanoTime();
    private final long deadlineNanos;

    private State state = State.QUEUED;
    private long version;
    private int done;
    private int total;
    private long startedNanos;
    private long finishedNanos;
    private Supplier<byte[]> preview;
    private List<GeneratedImage> images;
    private String error;
    private volatile String cancelReason;

    Job(String id, ImageBackend backend, ImageRequest request, long timeoutNanos) {
        this.id = id;
        this.backend = backend;
        this.request = request;
        this.deadlineNanos = createdNanos + timeoutNanos;
        int steps = request.steps() > 0 ? request.steps() : backend.info().steps();
        this.total = steps * request.iterations();
    }

    public String id() {
        return id;
    }

    public ImageRequest request() {
        return request;
    }

    ImageBackend backend() {
        return backend;
    }

    /** Asks the job to stop at its next step (or not to start); the first reason given is kept. */
    public void cancel(String reason) {
        if (cancelReason == null) cancelReason = reason;
    }

    /** Why it was cancelled, or null. */
    public String cancelReason() {
        return cancelReason;
    }

    /** Whether the job should stop now: cancelled, or past its deadline (which then becomes the reason). */
    boolean shouldStop() {
        if (cancelReason == null && System.nanoTime() - deadlineNanos > 0) cancel("timeout");
        return cancelReason != null;
    }

    synchronized void started() {
        state = State.RUNNING;
        startedNanos = System.nanoTime();
        changed();
    }

    synchronized void progress(int stepsDone, int stepsTotal, Supplier<byte[]> latest) {
        done = stepsDone;
        total = stepsTotal;
        preview = latest;
        changed();
    }

    synchronized void finished(List<GeneratedImage> result) {
        images = List.copyOf(result);
        end(State.DONE);
    }

    synchronized void cancelled() {
        end(State.CANCELLED);
    }

    synchronized void failed(String message) {
        error = message;
        end(State.FAILED);
    }

    private void end(State s) {
        state = s;
        finishedNanos = System.nanoTime();
        changed();
    }

    private void changed() {
        version++;
        notifyAll();
    }

    /** A consistent copy of the job's progress. */
    public synchronized Snapshot snapshot() {
        long now = System.nanoTime();
        double elapsed = startedNanos == 0 ? 0 : ((finishedNanos != 0 ? finishedNanos : now) - startedNanos) / 1e9;
        return new Snapshot(id, state, version, done, total, elapsed, preview, images, error, cancelReason);
    }

    /** Waits until the version moves past {@code seen} or {@code millis} pass; returns the latest snapshot. */
    public synchronized Snapshot awaitChange(long seen, long millis) throws InterruptedException {
        long end = System.nanoTime() + millis * 1_000_000;
        while (version == seen && state != State.DONE && state != State.CANCELLED && state != State.FAILED) {
            long left = (end - System.nanoTime()) / 1_000_000;
            if (left <= 0) break;
            wait(left);
        }
        return snapshot();
    }

    /**
     * @param elapsedSeconds running time so far (0 while queued)
     * @param preview        PNG of the latest prediction, or null before the first step
     * @param images         the result when DONE
     */
    public record Snapshot(String id, State state, long version, int done, int total, double elapsedSeconds,
                           Supplier<byte[]> preview, List<GeneratedImage> images, String error, String cancelReason) {
        public boolean finished() {
            return state == State.DONE || state == State.CANCELLED || state == State.FAILED;
        }

        /** Fraction of steps done, 0..1. */
        public double fraction() {
            return total == 0 ? 0 : Math.min(1.0, done / (double) total);
        }

        /** Seconds left at the current pace, or -1 while unknown. */
        public double etaSeconds() {
            return done == 0 ? -1 : elapsedSeconds * (total - done) / done;
        }
    }
}
