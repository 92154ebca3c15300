package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.SkipEvent;

import java.util.ArrayList;
import java.util.List;

/**
 * The UNet's skip connections as a plain push/pop list: {@code skip.0} = conv_in output, then every down layer's and
 * downsampler's output; up blocks pop from the end. Every push and pop goes through the interceptor's hooks.
 */
public final class SkipStack {
    private final Pass pass;
    private final NodeInterceptor interceptor;
    private final List<Tensor> entries = new ArrayList<>();
    private int pushed;

    SkipStack(Pass pass, NodeInterceptor interceptor) {
        this.pass = pass;
        this.interceptor = interceptor;
    }

    /** Pushes {@code t} (which stays usable by the caller: the stack becomes a second holder). */
    public void push(Tensor t, String node) {
        int index = pushed++;
        Tensor entry = t;
        if (interceptor != null) {
            entry = interceptor.onSkipPush(new SkipEvent(index, pass.callIndex, node, t));
            if (entry == null) throw new IllegalStateException("onSkipPush returned null for skip." + index);
        }
        if (entry == t) pass.retain(t);
        pass.captureIfRequested("skip." + index, entry);
        entries.add(entry);
    }

    /** Pushes a tensor someone else keeps owning (an encoder state being decoded): pops never close it. */
    public void pushBorrowed(Tensor t) {
        pushed++;
        pass.retain(t);
        entries.add(t);
    }

    /** Pops the last entry; the caller owns one holder of the result and releases it. */
    public Tensor pop(String node) {
        if (entries.isEmpty()) throw new IllegalStateException(node + " pops from an empty skip stack");
        int index = entries.size() - 1;
        Tensor t = entries.remove(index);
        if (interceptor != null) {
            Tensor r = interceptor.onSkipPop(new SkipEvent(index, pass.callIndex, node, t));
            if (r == null) throw new IllegalStateException("onSkipPop returned null for skip." + index);
            if (r != t) {
                pass.release(t);
                return r;
            }
        }
        return t;
    }

    public int size() {
        return entries.size();
    }

    /** Entry {@code i} (0 = bottom); for ControlNet residuals and encoder states. */
    public Tensor get(int i) {
        return entries.get(i);
    }

    /** Replaces entry {@code i}; the old entry is released. */
    public void replace(int i, Tensor t) {
        pass.release(entries.set(i, t));
    }

    /** Removes and returns every entry (bottom first); each keeps the stack's holder, now the caller's. */
    public List<Tensor> drain() {
        List<Tensor> out = new ArrayList<>(entries);
        entries.clear();
        return out;
    }
}
