package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.Arrays;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * The segmentation-UNet operations on oneDNN primitives, for 2-D (channels-last) and 3-D (row-major) maps:
 * inference batch normalisation, max/average pooling, mean/max reduction and linear resampling.
 */
final class DnnlSpatial {
    private final DnnlKernels kernels;

    DnnlSpatial(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    /** {@code x} as a dense tensor oneDNN reads well (NHWC for 4-D, row-major otherwise), or null when it already is. */
    private Tensor denseCopy(DnnlWorkspace ws, Tensor x) {
        if (x.rank() == 4) return kernels.channelsLastOrNull(ws, x);
        return kernels.contiguousOrNull(ws, x);
    }

    private static long[] denseStrides(long[] shape) {
        return shape.length == 4 ? Dnnl.channelsLastStrides(shape) : Tensor.rowMajorStrides(shape);
    }

    Tensor batchNorm(DnnlWorkspace ws, Tensor x, Tensor mean, Tensor var, Tensor gamma, Tensor beta, float eps) {
        if (x.rank() < 2 || mean == null || var == null) {
            throw new IllegalArgumentException("batchNorm: input " + x + " with mean " + mean + ", variance " + var + ": expected [N, C, ...] and running statistics");
        }
        long c = x.dim(1);
        for (Tensor t : new Tensor[]{mean, var, gamma, beta}) {
            if (t != null && (t.rank() != 1 || t.dim(0) != c)) throw new IllegalArgumentException("batchNorm: " + t + " for input " + x + ", expected [" + c + "]");
        }
        int flags = dnnl_use_global_stats | (gamma != null ? dnnl_use_scale : 0) | (beta != null ? dnnl_use_shift : 0);
        try (Tensor copy = denseCopy(ws, x); Tensor m = kernels.contiguousOrNull(ws, mean); Tensor v = kernels.contiguousOrNull(ws, var);
             Tensor g = kernels.contiguousOrNull(ws, gamma); Tensor b = kernels.contiguousOrNull(ws, beta)) {
            Tensor src = copy != null ? copy : x;
            if (src.numel() == 0) return DnnlKernels.allocateDense(ws, x.shape());
            Key key = Key.of("batchNorm").add(src).add(eps).add(flags).build();
            Primitive p = kernels.cache().get(key, k -> "batchNorm " + src, s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_batch_normalization_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, s.md(src), s.md(src), eps, flags, s.attr()),
                        "batch_normalization_forward_primitive_desc_create(" + src + ")");
                return pd;
            });
            Tensor out = Tensor.allocateStrided(ws.allocator(), src.shape(), src.strides());
            ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_DST, out.address())
                    .add(DNNL_ARG_MEAN, (m != null ? m : mean).address()).add(DNNL_ARG_VARIANCE, (v != null ? v : var).address());
            if (gamma != null) args.add(DNNL_ARG_SCALE, (g != null ? g : gamma).address());
            if (beta != null) args.add(DNNL_ARG_SHIFT, (b != null ? b : beta).address());
            return DnnlPointwise.run(ws, p, out, args.toArray());
        }
    }

    Tensor pool(DnnlWorkspace ws, Tensor x, boolean max, int[] kernel, int[] stride) {
        int r = x.rank() - 2;
        boolean ok = (r == 2 || r == 3) && kernel.length == r && stride.length == r;
        long[] outShape = x.shape();
        for (int d = 0; ok && d < r; d++) {
            ok = kernel[d] > 0 && stride[d] > 0 && kernel[d] <= x.dim(2 + d);
            if (ok) outShape[2 + d] = (x.dim(2 + d) - kernel[d]) / stride[d] + 1;
        }
        if (!ok) {
            throw new IllegalArgumentException((max ? "maxPool" : "avgPool") + ": input " + x + ", kernel " + Arrays.toString(kernel) + ", stride "
                    + Arrays.toString(stride) + ": expected [N, C, (D,) H, W] at least the kernel, one size per spatial dimension");
        }
        long[] k = new long[r], st = new long[r], zero = new long[r];
        for (int d = 0; d < r; d++) {
            k[d] = kernel[d];
            st[d] = stride[d];
        }
        long[] outStrides = denseStrides(outShape);
        try (Tensor copy = denseCopy(ws, x)) {
            Tensor src = copy != null ? copy : x;
            if (Tensor.numel(outShape) == 0) return DnnlKernels.allocateDense(ws, outShape);
            Key key = Key.of("pool").add(max).add(src).add(k).add(st).build();
            Primitive p = kernels.cache().get(key, kk -> (max ? "maxPool " : "avgPool ") + src + " k" + Arrays.toString(kernel), s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_pooling_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding,
                        s.md(src), s.md(outShape, Dnnl.canonicalStrides(outShape, outStrides)), st, k, zero, zero, zero, s.attr()),
                        "pooling_forward_primitive_desc_create(" + src + ")");
                return pd;
            });
            Tensor out = DnnlKernels.allocateDense(ws, outShape);
            return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, out.address());
        }
    }

    Tensor reduce(DnnlWorkspace ws, Tensor x, boolean max, int... dims) {
        long[] outShape = x.shape();
        boolean ok = dims.length > 0;
        for (int d : dims) {
            ok &= d >= 0 && d < x.rank() && x.dim(d) > 0;
            if (ok) outShape[d] = 1;
        }
        if (!ok) throw new IllegalArgumentException((max ? "reduceMax" : "reduceMean") + ": dimensions " + Arrays.toString(dims) + " invalid for " + x);
        long[] outStrides = Tensor.rowMajorStrides(outShape);
        if (java.util.Arrays.equals(outShape, x.shape())) {
            // every reduced dimension has size 1: the identity, which oneDNN's reduction refuses as invalid
            return kernels.reorderInto(ws, x, Tensor.allocate(ws.allocator(), outShape));
        }
        try (Tensor copy = denseCopy(ws, x)) {
            Tensor src = copy != null ? copy : x;
            // oneDNN's reduction runs its reference code on 4-D NHWC maps (MK-UNet's attentions spent half the forward
            // there); the two common cases take its jit kernels: a map of NHWC is a global pooling, and dimensions
            // that are innermost in memory (the channels of NHWC, the trailing ones of row-major) are rows of a matrix
            int[] sorted = dims.clone();
            Arrays.sort(sorted);
            if (src.rank() == 4 && src.isChannelsLast() && Arrays.equals(sorted, new int[]{2, 3})) {
                return pool(ws, src, max, new int[]{(int) src.dim(2), (int) src.dim(3)}, new int[]{(int) src.dim(2), (int) src.dim(3)});
            }
            long inner = innermostSize(src, sorted);
            if (inner > 0) return reduceRows(ws, src, max, src.numel() / inner, inner, outShape);
            Key key = Key.of("reduce").add(max).add(src).add(outShape).build();
            Primitive p = kernels.cache().get(key, k -> (max ? "reduceMax " : "reduceMean ") + src + " over " + Arrays.toString(dims), s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_reduction_primitive_desc_create(pd, engine(), max ? dnnl_reduction_max : dnnl_reduction_mean, s.md(src),
                        s.md(outShape, Dnnl.canonicalStrides(outShape, outStrides)), 0f, 0f, s.attr()), "reduction_primitive_desc_create(" + src + ")");
                return pd;
            });
            Tensor out = Tensor.allocate(ws.allocator(), outShape);
            return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, out.address());
        }
    }

    /**
     * The number of elements reduced per output when {@code sorted} are the innermost dimensions of dense {@code src}
     * in memory (the channels of NHWC, or trailing dimensions of row-major), else 0.
     */
    private static long innermostSize(Tensor src, int[] sorted) {
        if (src.rank() == 4 && src.isChannelsLast() && Arrays.equals(sorted, new int[]{1})) return src.dim(1);
        if (!src.isContiguous()) return 0;
        long n = 1;
        for (int i = 0; i < sorted.length; i++) {
            if (sorted[i] != src.rank() - sorted.length + i) return 0;
            n *= src.dim(sorted[i]);
        }
        return n;
    }

    /** Mean or max of each row of {@code src} seen as a row-major {@code [rows, inner]} matrix; the result has {@code outShape}. */
    private Tensor reduceRows(DnnlWorkspace ws, Tensor src, boolean max, long rows, long inner, long[] outShape) {
        long[] in = {rows, inner}, out = {rows, 1};
        Key key = Key.of("reduceRows").add(max).add(in).build();
        Primitive p = kernels.cache().get(key, k -> (max ? "reduceMax " : "reduceMean ") + Arrays.toString(in) + " over rows", s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_reduction_primitive_desc_create(pd, engine(), max ? dnnl_reduction_max : dnnl_reduction_mean, s.md(in, new long[]{inner, 1}),
                    s.md(out, Dnnl.canonicalStrides(out, new long[]{1, 1})), 0f, 0f, s.attr()), "reduction_primitive_desc_create(" + Arrays.toString(in) + ")");
            return pd;
        });
        Tensor dst = Tensor.allocate(ws.allocator(), outShape); // row-major: the rows' order is src's order of the kept dimensions
        return DnnlPointwise.run(ws, p, dst, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, dst.address());
    }

    Tensor resizeLinear(DnnlWorkspace ws, Tensor x, long... size) {
        int r = x.rank() - 2;
        boolean ok = (r == 2 || r == 3) && size.length == r;
        long[] outShape = x.shape();
        for (int d = 0; ok && d < r; d++) {
            ok = size[d] > 0 && x.dim(2 + d) > 0;
            outShape[2 + d] = size[d];
        }
        if (!ok) {
            throw new IllegalArgumentException("resizeLinear: input " + x + " to " + Arrays.toString(size)
                    + ": expected [N, C, H, W] or [N, C, D, H, W], positive sizes, one per spatial dimension");
        }
        long[] outStrides = denseStrides(outShape);
        try (Tensor copy = denseCopy(ws, x)) {
            Tensor src = copy != null ? copy : x;
            if (Tensor.numel(outShape) == 0) return DnnlKernels.allocateDense(ws, outShape);
            Key key = Key.of("resizeLinear").add(src).add(outShape).build();
            // oneDNN's linear rule src = (dst + 0.5) / (out / in) - 0.5 with both neighbours clamped into the map is
            // torch's align_corners=False rule (its clamp of a negative source to 0 gives the same value)
            Primitive p = kernels.cache().get(key, k -> "resizeLinear " + src + " -> " + Arrays.toString(size), s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_resampling_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_resampling_linear, (float[]) null,
                        s.md(src), s.md(outShape, Dnnl.canonicalStrides(outShape, outStrides)), s.attr()), "resampling_forward_primitive_desc_create(" + src + ")");
                return pd;
            });
            Tensor out = DnnlKernels.allocateDense(ws, outShape);
            return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, out.address());
        }
    }
}
