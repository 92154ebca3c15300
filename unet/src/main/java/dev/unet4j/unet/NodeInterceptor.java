package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

/**
 * Consulted at every graph node of a session's calls (set with {@link UNetSession#setInterceptor}). It may observe
 * a node ({@code return call.proceed()}), replace its output (return a tensor of the same shape), scale it, or skip
 * it ({@code return call.passThrough()}).
 *
 * <p>Ownership: every tensor returned into the graph becomes owned by the graph, which closes it after use, and graph
 * code never writes into a tensor it was given. A cache therefore returns either a fresh tensor (allocated from
 * {@link NodeCall#workspace()}) or a view of one it keeps alive until the graph is done with it (closing a view frees
 * nothing). To keep a computed output without copying, move it ({@code Tensor.moveTo} with its own geometry) and
 * return a view of the moved tensor, where {@link NodeCall#exclusive} allows: the node still counts as computed. Returning {@link NodeCall#input()} itself is
 * allowed and is treated as {@link NodeCall#passThrough()}.
 */
public interface NodeInterceptor {

    /** Called at each node; the default runs it unchanged. */
    default Tensor intercept(NodeCall call) {
        return call.proceed();
    }

    /**
     * Whether {@link #intercept} will return node {@code path}'s output on the current call without running it (a
     * cache serving it), so the graph may skip work whose only reader is that node's input: an up block then does not
     * concatenate the popped skip for a served resnet, and that node's {@link NodeCall#input()} is the state before
     * the concatenation. Default: false (every node's input is computed).
     */
    default boolean serves(String path) {
        return false;
    }

    /**
     * A tensor is pushed on the skip stack; return it, or a replacement (graph-owned) to push instead. The hidden
     * state flowing down is not affected by a replacement.
     */
    default Tensor onSkipPush(SkipEvent event) {
        return event.tensor();
    }

    /** A tensor is popped by an up block; return it, or a replacement (graph-owned) the up block uses instead. */
    default Tensor onSkipPop(SkipEvent event) {
        return event.tensor();
    }
}
