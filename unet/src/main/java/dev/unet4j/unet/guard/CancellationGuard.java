package dev.unet4j.unet.guard;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Stops a UNet call at the next graph node once the running thread is interrupted or the flag is raised, instead of
 * at the next sampler step (a Heun step is two UNet calls, a large-model call several seconds). The call unwinds
 * with a {@link CallCancelledException}; the graph releases the call's tensors on the way out, so closing the session
 * frees everything, and the model stays usable. The interrupt status is left set for the caller to see.
 */
public final class CancellationGuard implements NodeInterceptor {
    private final AtomicBoolean flag;

    /** Cancels on interruption of the calling thread, or when {@code flag} becomes true (null: interrupts only). */
    public CancellationGuard(AtomicBoolean flag) {
        this.flag = flag;
    }

    /** Cancels on interruption of the calling thread only. */
    public static CancellationGuard onInterrupt() {
        return new CancellationGuard(null);
    }

    @Override
    public Tensor intercept(NodeCall call) {
        if (flag != null && flag.get()) throw new CallCancelledException(call.path(), call.callIndex(), "cancel flag raised");
        if (Thread.currentThread().isInterrupted()) throw new CallCancelledException(call.path(), call.callIndex(), "thread interrupted");
        return call.proceed();
    }
}
