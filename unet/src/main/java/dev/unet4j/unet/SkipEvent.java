package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

/**
 * A tensor entering or leaving the skip stack.
 *
 * @param index     position on the stack: {@code skip.0} is conv_in's output, then each down layer's, then each
 *                  downsampler's, in push order
 * @param callIndex the UNet call within the session
 * @param node      the path of the node that pushed it (push) or of the up block that pops it (pop)
 * @param tensor    the tensor, graph-owned and read-only
 */
public record SkipEvent(int index, int callIndex, String node, Tensor tensor) {
    /** The capture / fixture name, {@code skip.<index>}. */
    public String name() {
        return "skip." + index;
    }
}
