package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;

import java.util.HashMap;
import java.util.Map;

/**
 * Tensors a policy keeps between the calls of one generation, keyed by node path (or any name), charged to the
 * generation's {@link CacheBudget}. Entries are private copies in the session's pool; {@link #take} hands the graph a
 * view of one (the graph closes what it is given, and closing a view frees nothing), so serving a cached node costs no
 * copy: on a tiny model's cheap call those copies were a third of the call. Entries are replaced or cleared only
 * between the nodes that read them (a policy puts a node's fresh output, or clears at the start of a full call), and
 * {@link CacheSession} copies a call's result that is a view before handing it out.
 */
public final class FeatureStore implements AutoCloseable {
    private final CacheBudget budget;
    private final Map<String, Tensor> entries = new HashMap<>();
    private boolean refused;

    public FeatureStore(CacheBudget budget) {
        this.budget = budget;
    }

    /** Keeps a copy of {@code t} under {@code key}, replacing an older entry; false if the budget refused it. */
    public boolean put(String key, Tensor t, Kernels k, Workspace ws) {
        remove(key);
        long bytes = bytes(t);
        if (!budget.reserve(bytes, key + " " + t)) {
            refused = true;
            return false;
        }
        entries.put(key, k.copy(ws, t));
        return true;
    }

    /**
     * Keeps {@code t}, what {@code call.proceed()} returned, without copying it where it can, and returns the tensor
     * the graph goes on with: a tensor the call holds exclusively ({@link NodeCall#exclusive}) moves its buffer into
     * the store and the graph gets a view of it (the graph closes what it is given, and closing a view frees nothing;
     * graph code never writes into a node's output), so a full call that keeps 30 nodes for later calls copies none of
     * them; anything else (a view, the node's input handed back by an inner policy, a block output also on the skip
     * stack) is copied as {@link #put} does and returned as it is. If the budget refuses, {@code t} is returned
     * unchanged and {@link #refusedSome} turns true.
     */
    public Tensor keep(String key, NodeCall call, Tensor t) {
        if (!call.exclusive(t)) {
            put(key, t, call.kernels(), call.workspace());
            return t;
        }
        remove(key);
        if (!budget.reserve(bytes(t), key + " " + t)) {
            refused = true;
            return t;
        }
        Tensor owned = t.moveTo(t.shape(), t.strides(), t.offset());
        entries.put(key, owned);
        return owned.view(owned.shape(), owned.strides(), owned.offset());
    }

    /** Keeps {@code t} itself (ownership passes to the store; it is closed if the budget refuses it). */
    public boolean putOwned(String key, Tensor t) {
        remove(key);
        long bytes = bytes(t);
        if (!budget.reserve(bytes, key + " " + t)) {
            refused = true;
            t.close();
            return false;
        }
        entries.put(key, t);
        return true;
    }

    /** Removes and returns the entry (now owned by the caller), or null. */
    public Tensor removeOwned(String key) {
        Tensor t = entries.remove(key);
        if (t != null) budget.release(bytes(t));
        return t;
    }

    /** The kept tensor (store-owned: read it, do not close it), or null. */
    public Tensor get(String key) {
        return entries.get(key);
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public boolean containsAll(java.util.Collection<String> keys) {
        return entries.keySet().containsAll(keys);
    }

    /** A view of the entry for the graph (closing it frees nothing), or null if there is none. */
    public Tensor take(String key) {
        Tensor t = entries.get(key);
        return t == null ? null : t.view(t.shape(), t.strides(), t.offset());
    }

    public void remove(String key) {
        Tensor old = entries.remove(key);
        if (old != null) {
            budget.release(bytes(old));
            old.close();
        }
    }

    /** Whether some put since the last {@link #clear} was refused by the budget. */
    public boolean refusedSome() {
        return refused;
    }

    public int size() {
        return entries.size();
    }

    public long bytes() {
        long b = 0;
        for (Tensor t : entries.values()) b += bytes(t);
        return b;
    }

    /** Drops every entry and the refused flag (start of a new refresh). */
    public void clear() {
        for (Tensor t : entries.values()) {
            budget.release(bytes(t));
            t.close();
        }
        entries.clear();
        refused = false;
    }

    static long bytes(Tensor t) {
        return t.numel() * Float.BYTES;
    }

    @Override
    public void close() {
        clear();
    }
}
