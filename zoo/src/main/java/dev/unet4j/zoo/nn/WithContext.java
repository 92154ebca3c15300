package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;

/**
 * A node with a second input (DDoS-UNet's up block and its skip volume, MK-UNet's attention gate and its gating signal)
 * reads it from {@link Pass#context} while it runs, where an interceptor sees it as
 * {@link dev.unet4j.unet.NodeCall#encoderHiddenStates()}.
 */
public final class WithContext {
    private WithContext() {
    }

    /** {@code node(x)} with {@code context} as the pass context during the call (both borrowed); the previous context is restored. */
    public static Tensor apply(Node node, Pass p, Tensor context, Tensor x) {
        Tensor saved = p.context;
        p.context = context;
        try {
            return node.apply(p, x);
        } finally {
            p.context = saved;
        }
    }
}
