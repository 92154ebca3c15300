package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;

/**
 * Per-session (per-thread) state a backend needs to run kernels: the allocator for results and temporaries
 * and whatever execution context the backend keeps (a oneDNN stream and scratchpad). Never shared between
 * threads running at the same time.
 */
public interface Workspace extends AutoCloseable {
    Allocator allocator();

    /**
     * Per-session settings that layers may read while they run (for example the active weight precision of a
     * quantized model, switchable between generations without touching the shared model).
     */
    Attributes attributes();

    @Override
    void close();
}
