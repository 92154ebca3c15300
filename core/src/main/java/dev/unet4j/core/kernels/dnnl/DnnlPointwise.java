package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.Arrays;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/** Element-wise operations on oneDNN eltwise, softmax and binary primitives (numpy broadcasting for binaries). */
final class DnnlPointwise {
    private final DnnlKernels kernels;

    DnnlPointwise(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    /** {@code alg(x; alpha, beta)} into a new tensor in {@code x}'s dense layout. */
    Tensor eltwise(DnnlWorkspace ws, String name, Tensor x, int alg, float alpha, float beta) {
        Tensor copy = kernels.denseOrNull(ws, x);
        if (copy != null) return eltwiseInto(ws, name, copy, copy, alg, alpha, beta); // in place on our own copy
        return eltwiseInto(ws, name, x, DnnlKernels.allocateLike(ws, x, x.shape()), alg, alpha, beta);
    }

    /** Runs the eltwise from {@code src} into {@code dst} (may be {@code src}); returns dst, closing it on failure. */
    Tensor eltwiseInto(DnnlWorkspace ws, String name, Tensor src, Tensor dst, int alg, float alpha, float beta) {
        if (src.numel() == 0) return dst;
        Key key = Key.of("eltwise").add(alg).add(alpha).add(beta).add(src).add(dst.strides()).build();
        Primitive p = kernels.cache().get(key, k -> name + " " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_eltwise_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, alg, s.md(src), s.md(dst), alpha, beta, s.attr()),
                    "eltwise_forward_primitive_desc_create(" + name + ", " + src + ")");
            return pd;
        });
        return run(ws, p, dst, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, dst.address());
    }

    Tensor softmax(DnnlWorkspace ws, Tensor x) {
        if (x.rank() < 1) throw new IllegalArgumentException("softmax of a scalar " + x);
        Tensor copy = kernels.contiguousOrNull(ws, x);
        Tensor src = copy != null ? copy : x;
        Tensor dst = copy != null ? copy : Tensor.allocate(ws.allocator(), x.shape());
        if (src.numel() == 0) return dst;
        softmaxRows(ws, src, dst);
        return dst;
    }

    /** Softmax over the last axis of row-major {@code src} into row-major {@code dst} (may alias). */
    void softmaxRows(DnnlWorkspace ws, Tensor src, Tensor dst) {
        long cols = src.dim(-1), rows = src.numel() / cols;
        long[] dims = {rows, cols};
        Primitive p = kernels.cache().get(Key.of("softmax").add(rows).add(cols).build(), k -> "softmax " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_softmax_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_softmax_accurate,
                    s.tag(dims, dnnl_ab), s.tag(dims, dnnl_ab), 1, s.attr()), "softmax_forward_primitive_desc_create(" + src + ")");
            return pd;
        });
        run(ws, p, dst, DNNL_ARG_SRC, src.address(), DNNL_ARG_DST, dst.address());
    }

    /** {@code h * gelu_erf(gate)} with the last dimension split as (h, gate). */
    Tensor geglu(DnnlWorkspace ws, Tensor x) {
        if (x.rank() < 1 || x.dim(-1) % 2 != 0) {
            throw new IllegalArgumentException("geglu: input " + x + ", expected an even last dimension (h, gate)");
        }
        long d = x.dim(-1) / 2, m = x.numel() / Math.max(1, x.dim(-1));
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = d;
        Tensor out = Tensor.allocate(ws.allocator(), outShape);
        if (out.numel() == 0) return out;
        // oneDNN's eltwise/binary jit kernels need dense operands (strided ones fall to ref:any), so one jit reorder
        // splits the [M, (h, gate), D] rows into two dense planes [2, M, D]; then a single binary runs
        // (gate + 0) -> gelu_erf post-op -> mul-by-h post-op.
        try (Tensor rows = kernels.rowsOrNull(ws, x); Tensor planes = Tensor.allocate(ws.allocator(), 2, m, d)) {
            Tensor src = rows != null ? rows : x;
            Tensor split = src.view(new long[]{m, 2, d}, new long[]{Dnnl.rowStride(src), d * src.stride(-1), src.stride(-1)}, src.offset());
            kernels.reorderInto(ws, split, planes.view(new long[]{m, 2, d}, new long[]{d, m * d, 1}, planes.offset()));
            long[] md = {m, d}, ones = {1, 1};
            Primitive p = kernels.cache().get(Key.of("geglu").add(md).build(), k -> "geglu " + x, s -> {
                dnnl_primitive_attr attr = s.attr();
                dnnl_post_ops po = s.postOps();
                check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_gelu_erf, 0f, 0f), "post_ops_append_eltwise(gelu_erf)");
                check(dnnl_post_ops_append_binary(po, dnnl_binary_mul, s.tag(md, dnnl_ab)), "post_ops_append_binary(mul)");
                check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_binary_primitive_desc_create(pd, engine(), dnnl_binary_add, s.tag(md, dnnl_ab), s.tag(ones, dnnl_ab),
                        s.tag(md, dnnl_ab), attr), "binary_primitive_desc_create(geglu " + x + ")");
                return pd;
            });
            long value = planes.address(), gate = planes.address() + m * d * Float.BYTES;
            return run(ws, p, out, DNNL_ARG_SRC_0, gate, DNNL_ARG_SRC_1, ws.scalar(2, 0f), DNNL_ARG_DST, out.address(),
                    Dnnl.postOpArg(1, DNNL_ARG_SRC_1), value);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    Tensor add(DnnlWorkspace ws, Tensor a, Tensor b, float alpha, float beta) {
        return binary(ws, "add", dnnl_binary_add, a, b, alpha, beta);
    }

    Tensor mul(DnnlWorkspace ws, Tensor a, Tensor b) {
        return binary(ws, "mul", dnnl_binary_mul, a, b, 1f, 1f);
    }

    private Tensor binary(DnnlWorkspace ws, String name, int alg, Tensor a, Tensor b, float alpha, float beta) {
        Tensor bb = broadcastView(name, a, b);
        Tensor copy = kernels.denseOrNull(ws, a);
        Tensor src0 = copy != null ? copy : a;
        // the jit kernels want src1 in src0's layout (or broadcast); any other strides fall to ref:any
        try (Tensor b2 = java.util.Arrays.equals(bb.shape(), a.shape()) && !java.util.Arrays.equals(bb.strides(), src0.strides())
                ? kernels.reorderInto(ws, bb, DnnlKernels.allocateLike(ws, src0, a.shape())) : null) {
            Tensor src1 = b2 != null ? b2 : bb;
            return binaryInto(ws, name, alg, src0, src1, copy != null ? copy : DnnlKernels.allocateLike(ws, a, a.shape()), alpha, beta);
        } catch (RuntimeException e) {
            if (copy != null) copy.close();
            throw e;
        }
    }

    /** {@code b} viewed with {@code a}'s rank (leading 1s), checked against numpy broadcasting to {@code a}'s shape. */
    static Tensor broadcastView(String op, Tensor a, Tensor b) {
        int r = a.rank(), rb = b.rank();
        if (rb > r) throw new IllegalArgumentException(op + ": " + b + " does not broadcast to " + a);
        long[] shape = new long[r], strides = new long[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - rb);
            shape[i] = j < 0 ? 1 : b.dim(j);
            strides[i] = j < 0 ? 0 : b.stride(j);
            if (shape[i] != 1 && shape[i] != a.dim(i)) throw new IllegalArgumentException(op + ": " + b + " does not broadcast to " + a);
        }
        return b.view(shape, strides, b.offset());
    }

    /** {@code dst = alg(alpha * src0, beta * src1)}; src1 already has src0's rank. */
    Tensor binaryInto(DnnlWorkspace ws, String name, int alg, Tensor src0, Tensor src1, Tensor dst, float alpha, float beta) {
        if (src0.numel() == 0) return dst;
        boolean scaled = alpha != 1f || beta != 1f;
        Key key = Key.of("binary").add(alg).add(scaled).add(src0).add(src1).add(dst.strides()).build();
        Primitive p = kernels.cache().get(key, k -> name + " " + src0 + ", " + src1, s -> {
            dnnl_primitive_attr attr = s.attr();
            if (scaled) {
                check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC_0, 0), "set_scales_mask(src0)");
                check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC_1, 0), "set_scales_mask(src1)");
            }
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_binary_primitive_desc_create(pd, engine(), alg, s.md(src0), s.md(src1), s.md(dst), attr),
                    "binary_primitive_desc_create(" + name + ", " + src0 + ", " + src1 + ")");
            return pd;
        });
        ArgList args = new ArgList().add(DNNL_ARG_SRC_0, src0.address()).add(DNNL_ARG_SRC_1, src1.address()).add(DNNL_ARG_DST, dst.address());
        if (scaled) {
            args.add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_0, ws.scalar(0, alpha)).add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC_1, ws.scalar(1, beta));
        }
        return run(ws, p, dst, args.toArray());
    }

    /** {@code x * (1 + scale) + shift}. */
    Tensor scaleShift(DnnlWorkspace ws, Tensor x, Tensor scale, Tensor shift) {
        if (x.rank() < 2) throw new IllegalArgumentException("scaleShift: input " + x + ", expected [N, C, ...]");
        long[] nc = {x.dim(0), x.dim(1)};
        for (Tensor t : new Tensor[]{scale, shift}) {
            if (!Arrays.equals(t.shape(), nc)) {
                throw new IllegalArgumentException("scaleShift: " + t + " for input " + x + ", expected " + Arrays.toString(nc));
            }
        }
        // (1 + scale) is a tiny [N, C] eltwise; then two jit binaries with per-channel broadcast (mul, then add in
        // place). A single binary with the add as a post-op is what oneDNN 3.11 only runs as ref:any.
        try (Tensor copy = kernels.denseOrNull(ws, x);
             Tensor onePlus = eltwiseInto(ws, "1 + scale", scale, Tensor.allocate(ws.allocator(), nc), dnnl_eltwise_linear, 1f, 1f)) {
            Tensor src = copy != null ? copy : x;
            Tensor dst = binaryInto(ws, "scaleShift scale", dnnl_binary_mul, src, perChannelView(x, onePlus),
                    DnnlKernels.allocateLike(ws, src, x.shape()), 1f, 1f);
            return binaryInto(ws, "scaleShift shift", dnnl_binary_add, dst, perChannelView(x, shift), dst, 1f, 1f);
        }
    }

    /** {@code [N, C]} seen as {@code [N, C, 1, ...]} with {@code x}'s rank. */
    private static Tensor perChannelView(Tensor x, Tensor nc) {
        long[] shape = new long[x.rank()], strides = new long[x.rank()];
        Arrays.fill(shape, 1);
        shape[0] = nc.dim(0);
        shape[1] = nc.dim(1);
        strides[0] = nc.stride(0);
        strides[1] = nc.stride(1);
        return nc.view(shape, strides, nc.offset());
    }

    /** Executes, closing {@code out} if execution fails; returns {@code out}. */
    static Tensor run(DnnlWorkspace ws, Primitive p, Tensor out, long... args) {
        try {
            p.execute(ws, args);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }
}
