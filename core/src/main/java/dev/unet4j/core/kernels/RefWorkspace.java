package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Allocator;

import java.util.Objects;

/** The reference backend's workspace: just an allocator and the session attributes (no native context). */
final class RefWorkspace implements Workspace {
    private final Allocator allocator;
    private final Attributes attributes = new Attributes();

    RefWorkspace(Allocator allocator) {
        this.allocator = Objects.requireNonNull(allocator, "allocator");
    }

    @Override
    public Allocator allocator() {
        return allocator;
    }

    @Override
    public Attributes attributes() {
        return attributes;
    }

    @Override
    public void close() {
        // nothing native to free; results belong to their callers
    }
}
