package dev.unet4j.vae;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.LongConsumer;

/**
 * The per-call state of one encode or decode (or of all tiles of a tiled one): a pooling allocator, a workspace and
 * the pass the nodes run in. Closing it frees every intermediate, including those an exception left behind; results
 * leave it as standalone copies ({@link #export}).
 */
final class VaeCall implements AutoCloseable {
    /**
     * Released bytes the call keeps for reuse: none. The decoder's maps change size at every stage (a 512-px SD tile:
     * 8 MB at 64x64, up to 268 MB at 512x512), so an exact-size pool would hold a buffer of every size at once and
     * nearly double the peak; even a small bound stays filled with idle low-resolution buffers while the
     * full-resolution stage peaks. A decode runs once per image, and its allocations cost nothing next to its
     * convolutions.
     */
    static final long RETAINED_BYTES = 0;

    private final PoolingAllocator pool;
    private final Workspace ws;
    private final Map<String, Tensor> captured = new LinkedHashMap<>();
    private final LongConsumer peakBytes;
    private long[] lastShape;
    final Pass pass;

    VaeCall(Kernels kernels) {
        this(kernels, Set.of(), null);
    }

    /** With the default bound on retained bytes ({@link #RETAINED_BYTES}). */
    VaeCall(Kernels kernels, Set<String> capture, LongConsumer peakBytes) {
        this(kernels, capture, peakBytes, RETAINED_BYTES);
    }

    /**
     * @param capture   node paths whose outputs to keep (tests), or an empty set
     * @param peakBytes told the largest native working memory the call held, when it closes (tests); or null
     * @param retainedBytes the most released bytes the call keeps for reuse
     */
    VaeCall(Kernels kernels, Set<String> capture, LongConsumer peakBytes, long retainedBytes) {
        this.peakBytes = peakBytes;
        pool = new PoolingAllocator(retainedBytes);
        ws = kernels.newWorkspace(pool);
        pass = new Pass(kernels, ws, 0, null, capture, captured, null);
    }

    /** A standalone contiguous copy of {@code t}, which goes back to the call's pool. */
    static Tensor export(Tensor t) {
        try (t) {
            return t.copy(Allocator.direct());
        }
    }

    /**
     * Frees the pooled buffers before a tile of another shape: the pool reuses buffers of exactly the same size only, so
     * keeping those of the previous shape would add a second tile's working memory to the peak.
     */
    void startShape(long[] shape) {
        if (!Arrays.equals(shape, lastShape)) {
            pool.trim();
            lastShape = shape.clone();
        }
    }

    /** Standalone copies of the captured node outputs, by node path. */
    Map<String, Tensor> exportCaptures() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        captured.forEach((k, v) -> out.put(k, export(v)));
        return out;
    }

    @Override
    public void close() {
        captured.clear();
        ws.close();
        if (peakBytes != null) peakBytes.accept(pool.peakBytes());
        pool.closeAll();
    }
}
