package dev.unet4j.caching;

/**
 * The numbering of a cache session's UNet calls: 0, 1, 2, ... in order, never by timestep (Heun repeats timesteps);
 * call 0 after other calls starts a new generation. Knows the call under way, if any, so node callbacks of calls made
 * outside the session are left alone.
 */
final class CallOrder {
    private final int totalCalls;
    private int next;
    private int current = -1;

    CallOrder(int totalCalls) {
        this.totalCalls = totalCalls;
    }

    /** The index the next call gets. */
    int next() {
        return next;
    }

    /** The call under way, or -1 between calls. */
    int current() {
        return current;
    }

    /** Whether {@code callIndex} starts a new generation: call 0 after other calls. */
    boolean restartsAt(int callIndex) {
        return callIndex == 0 && next > 0;
    }

    /** Call {@code callIndex} begins: it must be the next one and within the calls the generation was opened for. */
    void begin(int callIndex) {
        if (callIndex != next) {
            throw new IllegalStateException("UNet call " + callIndex + " out of order: the cache session expects call " + next);
        }
        if (callIndex >= totalCalls) {
            throw new IllegalStateException("call " + callIndex + " beyond the " + totalCalls + " calls this generation was opened for");
        }
        next++;
        current = callIndex;
    }

    /** The call under way is done. */
    void end() {
        current = -1;
    }

    /** A step that starts with call {@code callIndex} (a latent hook's step start) must start at the next call. */
    void checkStepStart(int stepIndex, int callIndex) {
        if (callIndex != next) {
            throw new IllegalStateException("step " + stepIndex + " starts at call " + callIndex
                    + " but the cache session expects call " + next);
        }
    }

    /** A new generation: numbering starts over at 0. */
    void restart() {
        next = 0;
    }
}
