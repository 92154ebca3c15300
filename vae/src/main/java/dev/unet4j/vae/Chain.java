package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;

import java.util.List;

/** Runs nodes one after another, freeing each intermediate as soon as the next node has consumed it. */
final class Chain {
    private Chain() {
    }

    /** {@code nodes[n-1](...nodes[0](x))}; {@code x} borrowed, the result owned by the caller. */
    static Tensor run(Pass p, List<? extends Node> nodes, Tensor x) {
        Tensor h = x;
        for (Node n : nodes) {
            Tensor next;
            try {
                next = n.apply(p, h);
            } finally {
                if (h != x) p.release(h);
            }
            h = next;
        }
        return h == x ? p.copyOf(x) : h;
    }
}
