package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * Image {@code [B, C, H, W]} &lt;-&gt; tokens {@code [B, H*W, C]} without copying (both layouts are strided views), and
 * copies that keep a tensor's layout.
 */
public final class Layouts {
    private Layouts() {
    }

    /** A copy of {@code t} from {@code allocator}, channels-last if {@code t} is, else contiguous. */
    public static Tensor sameLayoutCopy(Allocator allocator, Tensor t) {
        Tensor c = t.isChannelsLast()
                ? Tensor.allocateChannelsLast(allocator, t.dim(0), t.dim(1), t.dim(2), t.dim(3))
                : Tensor.allocate(allocator, t.shape());
        if (Arrays.equals(c.strides(), t.strides())) {
            c.rawBuffer().put(t.rawBuffer());                 // same layout: one block copy
        } else {
            c.copyFrom(t);
        }
        return c;
    }

    /** A non-owning {@code [B, H*W, C]} view of an NCHW-shaped tensor (contiguous NCHW or channels-last). */
    static Tensor tokensView(Tensor x) {
        return x.view(tokenShape(x), tokenStrides(x), x.offset());
    }

    /** Moves ownership of image {@code x} into a {@code [B, H*W, C]} tensor over the same memory. */
    static Tensor toTokens(Tensor x) {
        return x.moveTo(tokenShape(x), tokenStrides(x), x.offset());
    }

    /** Moves ownership of tokens {@code t} ({@code [B, H*W, C]}) into an image {@code [B, C, h, w]}. */
    static Tensor toImage(Tensor t, long h, long w) {
        if (t.dim(1) != h * w) throw new IllegalArgumentException("tokens " + t + " are not an image of " + h + "x" + w);
        long[] s = t.strides();
        return t.moveTo(new long[]{t.dim(0), t.dim(2), h, w}, new long[]{s[0], s[2], w * s[1], s[1]}, t.offset());
    }

    private static long[] tokenShape(Tensor x) {
        if (x.rank() != 4) throw new IllegalArgumentException("expected an image [B, C, H, W], got " + x);
        return new long[]{x.dim(0), x.dim(2) * x.dim(3), x.dim(1)};
    }

    private static long[] tokenStrides(Tensor x) {
        long[] s = x.strides();
        if (x.dim(2) > 1 && s[2] != x.dim(3) * s[3]) {
            throw new IllegalArgumentException("image " + x + " rows are not evenly strided; cannot view it as tokens");
        }
        return new long[]{s[0], s[3], s[1]};
    }
}
