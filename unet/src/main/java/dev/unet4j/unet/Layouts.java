package dev.unet4j.unet;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

/** Copies that keep a tensor's memory layout. */
public final class Layouts {
    private Layouts() {
    }

    /** A copy of {@code t} from {@code allocator}, channels-last if {@code t} is, else contiguous. */
    public static Tensor sameLayoutCopy(Allocator allocator, Tensor t) {
        Tensor c = t.isChannelsLast()
                ? Tensor.allocateChannelsLast(allocator, t.dim(0), t.dim(1), t.dim(2), t.dim(3))
                : Tensor.allocate(allocator, t.shape());
        if (java.util.Arrays.equals(c.strides(), t.strides())) {
            c.rawBuffer().put(t.rawBuffer());                 // same layout: one block copy
        } else {
            c.copyFrom(t);
        }
        return c;
    }
}
