package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.Pass;

import java.util.List;
import java.util.function.BiFunction;

/** Small graph plumbing shared by the zoo models. */
public final class Tensors {
    private Tensors() {
    }

    /** {@code torch.cat(parts, 1)}: the parts borrowed, the result owned by the caller. */
    public static Tensor concat(Pass p, List<Tensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat of nothing");
        if (parts.size() == 1) return p.k.copy(p.ws, parts.get(0));
        Tensor acc = p.k.concat(p.ws, parts.get(0), parts.get(1));
        for (int i = 2; i < parts.size(); i++) {
            Tensor next = p.k.concat(p.ws, acc, parts.get(i));
            acc.close();
            acc = next;
        }
        return acc;
    }

    /**
     * {@code nn.Sequential}: the (non-empty) {@code stages} applied in turn by {@code forward} to {@code x} (borrowed),
     * each intermediate closed; the result owned by the caller.
     */
    public static <T> Tensor sequential(Tensor x, List<T> stages, BiFunction<T, Tensor, Tensor> forward) {
        Tensor h = forward.apply(stages.get(0), x);
        for (int i = 1; i < stages.size(); i++) {
            Tensor next;
            try {
                next = forward.apply(stages.get(i), h);
            } finally {
                h.close();
            }
            h = next;
        }
        return h;
    }

    /** Closes {@code t} through the pass (null ignored) and returns {@code next}: {@code x = swap(p, x, f(x))}. */
    public static Tensor swap(Pass p, Tensor t, Tensor next) {
        p.release(t);
        return next;
    }

    /** Softmax over the channels of {@code [N, C, ...]} (nnU-Net's {@code softmax_helper}); {@code x} borrowed. */
    public static Tensor softmaxChannels(Pass p, Tensor x) {
        int r = x.rank();
        int[] toLast = new int[r], back = new int[r];
        toLast[0] = 0;
        for (int d = 1; d < r - 1; d++) toLast[d] = d + 1;
        toLast[r - 1] = 1;
        Tensor y = p.k.softmax(p.ws, x.permute(toLast)); // [N, ..., C], softmax over the last dimension
        long[] st = y.strides(), shape = x.shape(), strides = new long[r];
        for (int d = 0; d < r; d++) back[toLast[d]] = d;
        for (int d = 0; d < r; d++) strides[d] = st[back[d]];
        return y.moveTo(shape, strides, y.offset());
    }
}
