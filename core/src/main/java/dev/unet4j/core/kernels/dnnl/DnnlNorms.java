package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/** GroupNorm (optionally + SiLU) and LayerNorm on oneDNN's normalisation primitives. */
final class DnnlNorms {
    private final DnnlKernels kernels;
    /**
     * Per shape: whether GroupNorm with a fused swish post-op gets a jit implementation. oneDNN fuses it in its NHWC
     * kernel, but for plain NCHW the fused variant is refused or falls to {@code ref:any}; those shapes run the
     * (jit) plain GroupNorm and the SiLU as a second, in-place eltwise.
     */
    private final Map<Key, Boolean> fusedIsFast = new ConcurrentHashMap<>();

    DnnlNorms(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    Tensor groupNorm(DnnlWorkspace ws, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        if (x.rank() < 2 || groups <= 0 || x.dim(1) % groups != 0) {
            throw new IllegalArgumentException("groupNorm: input " + x + " with " + groups + " groups, expected [N, C, ...] with C divisible by groups");
        }
        checkAffine("groupNorm", x.dim(1), gamma, beta);
        try (Tensor copy = kernels.denseOrNull(ws, x); Tensor g = kernels.contiguousOrNull(ws, gamma); Tensor b = kernels.contiguousOrNull(ws, beta)) {
            Tensor src = copy != null ? copy : x;
            Tensor scale = g != null ? g : gamma, shift = b != null ? b : beta;
            Tensor dst = DnnlKernels.allocateLike(ws, src, x.shape());
            if (x.numel() == 0) return dst;
            int flags = (scale != null ? dnnl_use_scale : 0) | (shift != null ? dnnl_use_shift : 0);
            Key plain = Key.of("groupNorm").add(src).add(dst.strides()).add(groups).add(eps).add(flags).add(false).build();
            Key fused = Key.of("groupNorm").add(src).add(dst.strides()).add(groups).add(eps).add(flags).add(true).build();
            boolean fuse = silu && fusedIsFast.computeIfAbsent(fused, k -> fusedIsFast(k, src, dst, groups, eps, flags));
            Primitive p = groupNormPrimitive(fuse ? fused : plain, src, dst, groups, eps, flags, fuse);
            ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_DST, dst.address());
            if (scale != null) args.add(DNNL_ARG_SCALE, scale.address());
            if (shift != null) args.add(DNNL_ARG_SHIFT, shift.address());
            DnnlPointwise.run(ws, p, dst, args.toArray());
            if (silu && !fuse) {
                try {
                    kernels.pointwise().eltwiseInto(ws, "groupNorm silu", dst, dst, dnnl_eltwise_swish, 1f, 0f);
                } catch (RuntimeException e) {
                    dst.close();
                    throw e;
                }
            }
            return dst;
        }
    }

    private boolean fusedIsFast(Key fused, Tensor src, Tensor dst, int groups, float eps, int flags) {
        try {
            return !groupNormPrimitive(fused, src, dst, groups, eps, flags, true).implementation().startsWith("ref");
        } catch (DnnlException e) {
            return false;
        }
    }

    private Primitive groupNormPrimitive(Key key, Tensor src, Tensor dst, int groups, float eps, int flags, boolean swish) {
        return kernels.cache().get(key, k -> "groupNorm(" + groups + ") " + src + (swish ? " + silu" : ""), s -> {
            dnnl_primitive_attr attr = s.attr();
            if (swish) {
                dnnl_post_ops po = s.postOps();
                check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_swish, 1f, 0f), "post_ops_append_eltwise(swish)");
                check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
            }
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_group_normalization_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, s.md(src), s.md(dst),
                    groups, eps, flags, attr), "group_normalization_forward_primitive_desc_create(" + src + ", groups " + groups + ")");
            return pd;
        });
    }

    Tensor layerNorm(DnnlWorkspace ws, Tensor x, Tensor gamma, Tensor beta, float eps) {
        if (x.rank() < 1) throw new IllegalArgumentException("layerNorm of a scalar " + x);
        long c = x.dim(-1);
        checkAffine("layerNorm", c, gamma, beta);
        try (Tensor copy = kernels.contiguousOrNull(ws, x); Tensor g = kernels.contiguousOrNull(ws, gamma); Tensor b = kernels.contiguousOrNull(ws, beta)) {
            Tensor src = copy != null ? copy : x;
            Tensor scale = g != null ? g : gamma, shift = b != null ? b : beta;
            Tensor dst = Tensor.allocate(ws.allocator(), x.shape());
            if (x.numel() == 0) return dst;
            long[] dims = {x.numel() / c, c};
            int flags = (scale != null ? dnnl_use_scale : 0) | (shift != null ? dnnl_use_shift : 0);
            Key key = Key.of("layerNorm").add(dims).add(eps).add(flags).build();
            Primitive p = kernels.cache().get(key, k -> "layerNorm " + x, s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_layer_normalization_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference,
                        s.tag(dims, dnnl_ab), s.tag(dims, dnnl_ab), null, eps, flags, s.attr()),
                        "layer_normalization_forward_primitive_desc_create(" + x + ")");
                return pd;
            });
            ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_DST, dst.address());
            if (scale != null) args.add(DNNL_ARG_SCALE, scale.address());
            if (shift != null) args.add(DNNL_ARG_SHIFT, shift.address());
            return DnnlPointwise.run(ws, p, dst, args.toArray());
        }
    }

    private static void checkAffine(String op, long channels, Tensor gamma, Tensor beta) {
        for (Tensor t : new Tensor[]{gamma, beta}) {
            if (t != null && (t.rank() != 1 || t.dim(0) != channels)) {
                throw new IllegalArgumentException(op + ": affine parameter " + t + ", expected [" + channels + "]");
            }
        }
    }
}
