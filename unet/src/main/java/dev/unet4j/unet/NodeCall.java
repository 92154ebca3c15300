package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

/**
 * One visit of a graph node, handed to a {@link NodeInterceptor}. Valid only during
 * {@link NodeInterceptor#intercept}. Tensors obtained here are owned by the graph: read them, copy what you keep,
 * never close them.
 */
public interface NodeCall {
    /** diffusers module path, e.g. {@code down_blocks.1.attentions.0.transformer_blocks.0.attn2}. */
    String path();

    NodeLevel level();

    NodeKind kind();

    /** Index of this UNet call within the session (0 for the first forward/encode/decode of the session). */
    int callIndex();

    /** The node's main input, read-only (the hidden state; for attn1/attn2/ff the normed tokens). */
    Tensor input();

    /** The time embedding the blocks receive ({@code [B, temb]}), or null before it exists. */
    Tensor temb();

    /** The encoder hidden states of this call ({@code [B, T, D]}), or null. */
    Tensor encoderHiddenStates();

    /**
     * Runs the node as it would run without an interceptor (children are still intercepted) and returns its
     * output. May be called at most once. The graph keeps ownership: return it, or return another tensor and the
     * graph closes this one.
     */
    Tensor proceed();

    /**
     * The tensor the node's output is added to ({@code h} of a transformer block's {@code h + attn1(norm1(h))}: the
     * block's hidden state before the norm that made {@link #input()}), read-only; null for a node without one.
     */
    default Tensor residual() {
        return null;
    }

    /**
     * Runs the node as {@link #proceed()} does, but on {@code input} in place of {@link #input()}: a token sequence
     * {@code [B, T', C]} of another length (token merging runs a transformer block's attention on merged tokens). The
     * result ({@code [B, T', C']}) belongs to the graph as proceed()'s does; the interceptor returns a tensor of the
     * node's usual shape made from it (the unmerged tokens), and the node counts as computed, with the MACs it did
     * and, for the full-compute total, the MACs it would do on {@link #input()}. {@code input} stays the caller's.
     * Either this or proceed(), at most once. Supported by token-wise nodes ({@code attn1}, {@code attn2},
     * {@code ff}); others throw {@link UnsupportedOperationException}.
     */
    default Tensor proceedWith(Tensor input) {
        throw new UnsupportedOperationException("proceedWith is not supported at " + path());
    }

    /** Counts {@code n} MACs an interceptor spends on this node (token merging's similarity matmul) into the trace. */
    default void addMacs(long n) {
    }

    /**
     * "Skip this node": {@link #input()} itself, to be returned from the interceptor as the node's output (neither
     * closed nor kept). The graph takes a second holder of it for a block (no copy: the encode/decode loops release
     * through the pass) and a copy in the input's layout for any other node.
     */
    Tensor passThrough();

    /**
     * Whether {@code t} (what {@link #proceed()} returned) is held by nothing but the value this interceptor returns:
     * an open, owning tensor that is not this node's input and not also held elsewhere in the graph (a block's output
     * is on the skip stack too). Only such a tensor may be moved into a cache ({@code Tensor.moveTo}) instead of
     * copied; see {@link NodeInterceptor}.
     */
    boolean exclusive(Tensor t);

    /**
     * A copy of {@code t} in the same memory layout (NCHW or channels-last), from the session's workspace: the way to
     * return a cached tensor into the graph. Keeping the layout keeps the following kernels, and so the bits, the same.
     */
    default Tensor copyOf(Tensor t) {
        return dev.unet4j.unet.nn.Layouts.sameLayoutCopy(workspace().allocator(), t);
    }

    /** The session's workspace: allocate tensors you return into the graph from it. */
    Workspace workspace();

    /** The model's kernels, for small edits such as scaling an output. */
    Kernels kernels();
}
