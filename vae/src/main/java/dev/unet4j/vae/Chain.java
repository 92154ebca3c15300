package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.unet.nn.Pass;

import java.util.List;

/** Runs steps one after another, freeing each intermediate as soon as the next step has consumed it. */
final class Chain {
    private Chain() {
    }

    /** One step: {@code x} borrowed, the result owned by the caller. */
    interface Step {
        Tensor apply(Pass p, Tensor x);
    }

    /** {@code steps[n-1](...steps[0](x))}; {@code x} borrowed, the result owned by the caller. */
    static Tensor run(Pass p, List<? extends Step> steps, Tensor x) {
        Tensor h = x;
        for (Step s : steps) {
            Tensor next;
            try {
                next = s.apply(p, h);
            } finally {
                if (h != x) p.release(h);
            }
            h = next;
        }
        return h == x ? p.copyOf(x) : h;
    }

    /**
     * {@link #run} taking {@code x} over: it is released as soon as the first step has consumed it (or on failure),
     * instead of living through the whole chain as a borrowed input does. Returns {@code x} itself for no steps.
     */
    static Tensor consume(Pass p, List<? extends Step> steps, Tensor x) {
        if (steps.isEmpty()) return x;
        Tensor h;
        try {
            h = steps.get(0).apply(p, x);
        } finally {
            p.release(x);
        }
        if (steps.size() == 1) return h;
        try {
            return run(p, steps.subList(1, steps.size()), h);
        } finally {
            p.release(h);
        }
    }

    /** The same over graph nodes (each visited through the pass, so captures see it). */
    static Tensor runNodes(Pass p, List<? extends Node> nodes, Tensor x) {
        return run(p, steps(nodes), x);
    }

    /** {@link #consume} over graph nodes. */
    static Tensor consumeNodes(Pass p, List<? extends Node> nodes, Tensor x) {
        return consume(p, steps(nodes), x);
    }

    private static List<Step> steps(List<? extends Node> nodes) {
        return nodes.stream().map(n -> (Step) n::apply).toList();
    }
}
