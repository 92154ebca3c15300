package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.nio.FloatBuffer;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/** Nearest upsampling, average pooling and concatenation, channels-last in and out. */
final class DnnlResampling {
    private final DnnlKernels kernels;

    DnnlResampling(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    Tensor upsampleNearest(DnnlWorkspace ws, Tensor x, int outH, int outW) {
        if (x.rank() != 4 || outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException("upsampleNearest: input " + x + " to " + outH + "x" + outW + ", expected NCHW and a positive size");
        }
        long h = x.dim(2), w = x.dim(3);
        Tensor out = Tensor.allocateChannelsLast(ws.allocator(), x.dim(0), x.dim(1), outH, outW);
        if (out.numel() == 0) return out;
        if (h == 0 || w == 0) {
            out.close();
            throw new IllegalArgumentException("upsampleNearest: empty input " + x);
        }
        if (outH % h != 0 || outW % w != 0) {
            // oneDNN's nearest rule (round half) equals torch's floor(dst * in / out) only for integer factors
            nearestFallback(x, out);
            return out;
        }
        try (Tensor copy = kernels.channelsLastOrNull(ws, x)) {
            Tensor src = copy != null ? copy : x;
            Key key = Key.of("upsampleNearest").add(src).add(outH).add(outW).build();
            Primitive p = kernels.cache().get(key, k -> "upsampleNearest " + x + " -> " + outH + "x" + outW, s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_resampling_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_resampling_nearest,
                        (float[]) null, s.md(src), s.md(out), s.attr()), "resampling_forward_primitive_desc_create(" + x + ")");
                return pd;
            });
            return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, out.address());
        }
    }

    /** torch's rule {@code src = min(floor(dst * (float) in / out), in - 1)} for non-integer factors. */
    private static void nearestFallback(Tensor x, Tensor out) {
        long n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = out.dim(2), ow = out.dim(3);
        float sh = (float) h / oh, sw = (float) w / ow;
        int[] srcW = new int[(int) ow];
        for (int j = 0; j < ow; j++) srcW[j] = (int) Math.min((long) Math.floor(j * sw), w - 1);
        FloatBuffer in = x.rawBuffer(), o = out.rawBuffer();
        long[] xs = x.strides(), os = out.strides();
        for (long b = 0; b < n; b++) {
            for (long i = 0; i < oh; i++) {
                long si = Math.min((long) Math.floor(i * sh), h - 1);
                for (int j = 0; j < ow; j++) {
                    long srcBase = b * xs[0] + si * xs[2] + srcW[j] * xs[3], dstBase = b * os[0] + i * os[2] + j * os[3];
                    for (long ch = 0; ch < c; ch++) o.put((int) (dstBase + ch * os[1]), in.get((int) (srcBase + ch * xs[1])));
                }
            }
        }
    }

    Tensor avgPool2d(DnnlWorkspace ws, Tensor x, int kernel, int stride) {
        if (x.rank() != 4 || kernel <= 0 || stride <= 0 || x.dim(2) < kernel || x.dim(3) < kernel) {
            throw new IllegalArgumentException("avgPool2d: input " + x + ", kernel " + kernel + ", stride " + stride + ": expected NCHW at least kernel x kernel");
        }
        long oh = (x.dim(2) - kernel) / stride + 1, ow = (x.dim(3) - kernel) / stride + 1;
        Tensor out = Tensor.allocateChannelsLast(ws.allocator(), x.dim(0), x.dim(1), oh, ow);
        if (out.numel() == 0) return out;
        try (Tensor copy = kernels.channelsLastOrNull(ws, x)) {
            Tensor src = copy != null ? copy : x;
            Key key = Key.of("avgPool2d").add(src).add(kernel).add(stride).build();
            Primitive p = kernels.cache().get(key, k -> "avgPool2d " + x + " k" + kernel + " s" + stride, s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_pooling_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_pooling_avg_exclude_padding,
                        s.md(src), s.md(out), new long[]{stride, stride}, new long[]{kernel, kernel}, new long[]{0, 0},
                        new long[]{0, 0}, new long[]{0, 0}, s.attr()), "pooling_forward_primitive_desc_create(" + x + ")");
                return pd;
            });
            return DnnlPointwise.run(ws, p, out, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, out.address());
        }
    }

    Tensor concat(DnnlWorkspace ws, Tensor a, Tensor b) {
        boolean ok = a.rank() >= 2 && a.rank() == b.rank();
        for (int i = 0; ok && i < a.rank(); i++) ok = i == 1 || a.dim(i) == b.dim(i);
        if (!ok) throw new IllegalArgumentException("concat along dim 1: " + a + " and " + b + " differ in another dimension");
        long[] shape = a.shape();
        shape[1] += b.dim(1);
        Tensor out = DnnlKernels.allocateDense(ws, shape);
        if (out.numel() == 0) return out;
        // Two reorders into the channel (or token) slices of the output: the preset binds concat's array of source
        // descriptors as a single pointer (@ByPtrPtr), so dnnl_concat cannot be given two sources safely.
        try {
            if (a.dim(1) > 0) kernels.reorderInto(ws, a, out.narrow(1, 0, a.dim(1)));
            if (b.dim(1) > 0) kernels.reorderInto(ws, b, out.narrow(1, a.dim(1), b.dim(1)));
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }
}
