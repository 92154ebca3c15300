package dev.unet4j.unet;

import java.util.List;

/**
 * What the last call of a session did: every node visited, in order, with the multiply-accumulates (conv, linear,
 * attention; counted from shapes) done inside it, and how much a full, unintercepted call of the same input shapes
 * costs. Caching reports "MACs done vs full compute" from {@link #macsDone()} / {@link #fullMacs()}.
 *
 * @param nodes    nodes in visiting order (a parent after its children)
 * @param macsDone MACs actually computed by the call
 * @param fullMacs MACs of an unintercepted call with these shapes, or -1 when some top-level node never ran in
 *                 full with these shapes in this session (so its cost is unknown)
 */
public record CallTrace(List<NodeRecord> nodes, long macsDone, long fullMacs) {

    public CallTrace {
        nodes = List.copyOf(nodes);
    }

    /** How a node's output was produced. */
    public enum Outcome {
        /** Computed normally (no interceptor, or the interceptor returned {@code proceed()}'s tensor). */
        COMPUTED,
        /** The interceptor returned a tensor other than the node's own output (cached, scaled, skipped). */
        REPLACED
    }

    /**
     * @param path  diffusers module path
     * @param macs  MACs computed inside the node during this visit (children included)
     */
    public record NodeRecord(String path, NodeLevel level, NodeKind kind, long macs, Outcome outcome) {
    }

    /** Fraction of the full call's MACs that were computed (1 for a plain forward), or NaN if unknown. */
    public double computedFraction() {
        return fullMacs <= 0 ? Double.NaN : (double) macsDone / fullMacs;
    }

    /** The record of {@code path} in this call, or null if the node was not visited. */
    public NodeRecord node(String path) {
        for (NodeRecord r : nodes) if (r.path.equals(path)) return r;
        return null;
    }
}
