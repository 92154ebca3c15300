package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * A named module of the UNet graph. {@link #apply} routes every call through the {@link Pass}, which consults the
 * session's interceptor, captures and traces; {@link #forward} is the module's own math. Inputs are borrowed,
 * results are owned by the caller (released through {@link Pass#release}).
 */
public abstract class Node {
    protected final String path;
    private final NodeLevel level;
    private final NodeKind kind;

    protected Node(String path, NodeLevel level, NodeKind kind) {
        this.path = path;
        this.level = level;
        this.kind = kind;
    }

    public final String path() {
        return path;
    }

    public final NodeLevel level() {
        return level;
    }

    public final NodeKind kind() {
        return kind;
    }

    /** Runs this node for {@code x} in pass {@code p}. */
    public final Tensor apply(Pass p, Tensor x) {
        return p.visit(this, x, null);
    }

    /**
     * Runs this node and adds {@code residual} to its output (a transformer's {@code attn(x) + h}); the pass fuses the
     * sum into the node's last layer when nothing observes the node's own output.
     */
    public final Tensor applyPlus(Pass p, Tensor x, Tensor residual) {
        return p.visit(this, x, residual);
    }

    /** The module's math; {@code x} borrowed, result owned by the caller. */
    protected abstract Tensor forward(Pass p, Tensor x);

    /** {@code forward(x) + residual}; override to fuse the sum into the last layer. */
    protected Tensor forwardPlus(Pass p, Tensor x, Tensor residual) {
        Tensor y = forward(p, x);
        try {
            return p.k.add(p.ws, y, residual, 1f, 1f);
        } finally {
            p.release(y);
        }
    }

    /**
     * The MACs {@link #forward} would count for input {@code x} in pass {@code p}, from shapes alone, or -1 when this
     * node does not say (the full-compute cost of a node an interceptor ran on other inputs,
     * {@link dev.unet4j.unet.NodeCall#proceedWith}).
     */
    protected long macsFor(Pass p, Tensor x) {
        return -1;
    }

    /** Direct children, for walking the tree. */
    public java.util.List<Node> children() {
        return java.util.List.of();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + path + ")";
    }
}
