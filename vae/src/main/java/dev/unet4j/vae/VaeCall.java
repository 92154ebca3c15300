package dev.unet4j.vae;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The per-call state of one encode or decode (or of all tiles of a tiled one): a pooling allocator, a workspace and
 * the pass the nodes run in. Closing it frees every intermediate, including those an exception left behind; results
 * leave it as standalone copies ({@link #export}).
 */
final class VaeCall implements AutoCloseable {
    private final PoolingAllocator pool = new PoolingAllocator();
    private final Workspace ws;
    private final Map<String, Tensor> captured = new LinkedHashMap<>();
    final Pass pass;

    /** {@code capture}: node paths whose outputs to keep (tests), or an empty set. */
    VaeCall(Kernels kernels, Set<String> capture) {
        ws = kernels.newWorkspace(pool);
        pass = new Pass(kernels, ws, 0, null, capture, captured, null);
    }

    /** A standalone contiguous copy of {@code t} (which stays owned by the call). */
    static Tensor export(Tensor t) {
        return t.copy(Allocator.direct());
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
        pool.closeAll();
    }
}
