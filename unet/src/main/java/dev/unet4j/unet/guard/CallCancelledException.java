package dev.unet4j.unet.guard;

import java.util.concurrent.CancellationException;

/** A UNet call stopped by a {@link CancellationGuard} before node {@link #path()} of call {@link #callIndex()}. */
public final class CallCancelledException extends CancellationException {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final int callIndex;

    public CallCancelledException(String path, int callIndex, String reason) {
        super("UNet call " + callIndex + " cancelled before node " + path + ": " + reason);
        this.path = path;
        this.callIndex = callIndex;
    }

    public String path() {
        return path;
    }

    public int callIndex() {
        return callIndex;
    }
}
