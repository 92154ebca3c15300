package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;

/** The hidden state flowing through a block: starts borrowed, each step releases the previous state. */
final class Flow {
    private final Pass p;
    Tensor h;
    private boolean owned;
    String lastPath;

    Flow(Pass p, Tensor input) {
        this.p = p;
        this.h = input;
    }

    /** {@code h = node(h)}. */
    void step(Node node) {
        replace(node.apply(p, h));
        lastPath = node.path();
    }

    /** {@code h = next} (owned). */
    void replace(Tensor next) {
        if (owned) p.release(h);
        h = next;
        owned = true;
    }

    /** The final state, owned by the caller (a copy if the block did nothing). */
    Tensor result() {
        return owned ? h : p.copyOf(h);
    }
}
