package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * Layer weights in the layouts oneDNN's primitives asked for (usually one blocked layout per layer). The first
 * copy is reordered from the caller's plain tensor at preparation; if a later input shape makes oneDNN prefer
 * another layout, that copy is reordered from the first, so no plain float copy is kept.
 *
 * <p>s8 weights ({@link #keepingPlain}) are the exception: their blocked layouts carry the s8 compensation, and
 * oneDNN 3.11 has no reorder from one compensated layout to another (e.g. {@code AcdB64a4b} to {@code AcdB48a4b}
 * when a small map makes the int8 convolution pick another block), so they keep their plain codes — one more byte
 * per weight, about as much as the packed copy — and reorder every new layout from those.
 */
final class PackedWeights implements AutoCloseable {
    private record Entry(dnnl_memory_desc md, NativeBuffer buffer) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final String layer;
    /** The plain weights every new layout is reordered from, or null to reorder from the first copy. */
    private Entry plain;
    /** Layout of the first copy, kept while the copies are evicted so {@link #restore} can refill it. */
    private dnnl_memory_desc evictedLayout;

    /** Reorders {@code plainMd} at {@code plainAddress} into {@code wantedMd} (cloned; the caller keeps its own). */
    PackedWeights(String layer, dnnl_memory_desc plainMd, long plainAddress, dnnl_memory_desc wantedMd) {
        this.layer = layer;
        entries.add(reorderedCopy(plainMd, plainAddress, wantedMd));
    }

    /**
     * Like the constructor, and keeps a copy of the dense plain weights ({@code plainMd} with no padding, e.g. the
     * s8 codes in {@code oihw} or {@code [in, out]}) as the source of every later layout.
     */
    static PackedWeights keepingPlain(String layer, dnnl_memory_desc plainMd, long plainAddress, dnnl_memory_desc wantedMd) {
        PackedWeights w = new PackedWeights(layer, plainMd, plainAddress, wantedMd);
        try {
            w.plain = w.reorderedCopy(plainMd, plainAddress, plainMd);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
        return w;
    }

    /** The layout of the first copy (owned by this object), e.g. to ask a primitive for it before any other. */
    synchronized dnnl_memory_desc firstLayout() {
        if (entries.isEmpty()) throw new IllegalStateException("weights of " + layer + " used after close");
        return entries.get(0).md;
    }

    /**
     * Frees every copy, remembering the first one's layout: the layer's weights then live only in another
     * {@code PackedWeights} (a convolution computed as a matmul), and {@link #restore} refills this one if it is
     * needed again. The caller guarantees no primitive is using these copies.
     */
    synchronized void evict() {
        if (evictedLayout != null || entries.isEmpty()) return;
        Entry first = entries.get(0);
        evictedLayout = new dnnl_memory_desc();
        check(dnnl_memory_desc_clone(evictedLayout, first.md), "memory_desc_clone for " + layer);
        releaseCopies();
    }

    synchronized boolean isEvicted() {
        return evictedLayout != null;
    }

    /** Refills evicted weights from {@code srcMd} at {@code srcAddress} (the same logical weights, any layout). */
    synchronized void restore(dnnl_memory_desc srcMd, long srcAddress) {
        if (evictedLayout == null) return;
        entries.add(reorderedCopy(srcMd, srcAddress, evictedLayout));
        dnnl_memory_desc_destroy(evictedLayout);
        evictedLayout = null;
    }

    /** Address of the weights in layout {@code wanted}, reordering once if this layout is new. */
    synchronized long address(dnnl_memory_desc wanted) {
        if (evictedLayout != null) throw new IllegalStateException("weights of " + layer + " are evicted");
        for (Entry e : entries) {
            if (dnnl_memory_desc_equal(e.md, wanted) != 0) return e.buffer.address(0);
        }
        if (entries.isEmpty()) throw new IllegalStateException("weights of " + layer + " used after close");
        Entry source = plain != null ? plain : entries.get(0);
        Entry e = reorderedCopy(source.md, source.buffer.address(0), wanted);
        entries.add(e);
        return e.buffer.address(0);
    }

    /** Reorders the first (preparation-time) copy into caller memory laid out as {@code dstMd} (same dims). */
    synchronized void copyInto(dnnl_memory_desc dstMd, long dstAddress) {
        if (evictedLayout != null) throw new IllegalStateException("weights of " + layer + " are evicted");
        if (entries.isEmpty()) throw new IllegalStateException("weights of " + layer + " used after close");
        Entry first = entries.get(0);
        reorder(first.md, first.buffer.address(0), dstMd, dstAddress);
    }

    private void reorder(dnnl_memory_desc srcMd, long srcAddress, dnnl_memory_desc dstMd, long dstAddress) {
        try (Dnnl.Scope s = new Dnnl.Scope(); DnnlWorkspace ws = new DnnlWorkspace(Allocator.direct())) {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_reorder_primitive_desc_create(pd, srcMd, engine(), dstMd, engine(), s.attr()), "reorder weights of " + layer);
            try (Primitive reorder = new Primitive(pd, "reorder weights of " + layer)) {
                reorder.execute(ws, DNNL_ARG_SRC, srcAddress, DNNL_ARG_DST, dstAddress);
            }
        }
    }

    private Entry reorderedCopy(dnnl_memory_desc srcMd, long srcAddress, dnnl_memory_desc wantedMd) {
        dnnl_memory_desc clone = new dnnl_memory_desc();
        check(dnnl_memory_desc_clone(clone, wantedMd), "memory_desc_clone for " + layer);
        NativeBuffer buffer = Allocator.direct().acquire((dnnl_memory_desc_get_size(clone) + 3) / 4);
        try {
            reorder(srcMd, srcAddress, clone, buffer.address(0));
        } catch (RuntimeException e) {
            Allocator.direct().release(buffer);
            dnnl_memory_desc_destroy(clone);
            throw e;
        }
        return new Entry(clone, buffer);
    }

    private static void release(Entry e) {
        Allocator.direct().release(e.buffer);
        dnnl_memory_desc_destroy(e.md);
    }

    private void releaseCopies() {
        for (Entry e : entries) release(e);
        entries.clear();
    }

    @Override
    public synchronized void close() {
        if (evictedLayout != null && entries.isEmpty()) {
            dnnl_memory_desc_destroy(evictedLayout);
            evictedLayout = null;
        }
        releaseCopies();
        if (plain != null) {
            release(plain);
            plain = null;
        }
    }
}
