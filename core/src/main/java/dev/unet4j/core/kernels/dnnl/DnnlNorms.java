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
            if (useChannelStats(src, groups)) {
                try {
                    return groupNormByChannelStats(ws, src, dst, groups, scale, shift, eps, silu);
                } catch (RuntimeException e) {
                    dst.close();
                    throw e;
                }
            }
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

    /**
     * oneDNN's group norm reads a channels-last map group by group, i.e. runs of {@code C/groups} floats (4 in most
     * UNets) at a stride of C: 3-8 GB/s on a 32x32x128 map. Large channels-last maps instead get their statistics per
     * channel from a batch-norm pass (vectorised along C), combined per group in Java exactly
     * ({@code var_g = mean_c(var_c + (mean_c - mean_g)^2)}, so no E[x^2]-E[x]^2 cancellation), and one binary
     * applies {@code (x - mean_g) * a[c] + beta[c]} with the SiLU fused. Small maps keep the single primitive (fewer calls).
     */
    private static boolean useChannelStats(Tensor src, int groups) {
        if (CHANNEL_STATS_MODE == 0) return false;
        if (src.rank() != 4 || !src.isChannelsLast() || src.dim(1) == groups) return false;
        return CHANNEL_STATS_MODE == 2 || src.dim(2) * src.dim(3) >= CHANNEL_STATS_MIN_PIXELS;
    }

    /** unet4j.groupnorm = auto (default) | primitive | channelstats: which path large channels-last maps take. */
    private static final int CHANNEL_STATS_MODE = switch (System.getProperty("unet4j.groupnorm", "auto")) {
        case "primitive" -> 0;
        case "channelstats" -> 2;
        default -> 1;
    };
    private static final long CHANNEL_STATS_MIN_PIXELS = 1024;

    private Tensor groupNormByChannelStats(DnnlWorkspace ws, Tensor src, Tensor dst, int groups, Tensor scale, Tensor shift, float eps, boolean silu) {
        int n = (int) src.dim(0), c = (int) src.dim(1), cg = c / groups;
        long[] one = {1, c, src.dim(2), src.dim(3)};
        long[] strides = src.strides();
        Primitive stats = kernels.cache().get(Key.of("channelStats").add(one).add(strides).build(), k -> "channel statistics " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_batch_normalization_forward_primitive_desc_create(pd, engine(), dnnl_forward_training, s.md(one, strides), s.md(one, strides),
                    0f, 0, s.attr()), "batch_normalization_forward_primitive_desc_create(statistics of " + src + ")");
            return pd;
        });
        Primitive apply = kernels.cache().get(Key.of("channelAffine").add(one).add(strides).add(silu).build(), k -> "per-channel affine " + src + (silu ? " + silu" : ""), s -> {
            dnnl_primitive_attr attr = s.attr();
            dnnl_post_ops po = s.postOps();
            check(dnnl_post_ops_append_binary(po, dnnl_binary_mul, s.tag(new long[]{1, c, 1, 1}, dnnl_abcd)), "post_ops_append_binary(mul)");
            check(dnnl_post_ops_append_binary(po, dnnl_binary_add, s.tag(new long[]{1, c, 1, 1}, dnnl_abcd)), "post_ops_append_binary(add)");
            if (silu) check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_swish, 1f, 0f), "post_ops_append_eltwise(swish)");
            check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_binary_primitive_desc_create(pd, engine(), dnnl_binary_sub, s.md(one, strides), s.tag(new long[]{1, c, 1, 1}, dnnl_abcd),
                    s.md(one, strides), attr), "binary_primitive_desc_create(group norm affine of " + src + ")");
            return pd;
        });
        float[] gamma = scale == null ? null : scale.toFloatArray(), beta = shift == null ? null : shift.toFloatArray();
        float[] mean = new float[c], var = new float[c], mu = new float[c], a = new float[c], b = new float[c];
        try (Tensor m = Tensor.allocate(ws.allocator(), c); Tensor v = Tensor.allocate(ws.allocator(), c);
             Tensor ta = Tensor.allocate(ws.allocator(), c); Tensor tb = Tensor.allocate(ws.allocator(), c)) {
            for (int i = 0; i < n; i++) {
                long at = src.offset() + i * strides[0];
                long srcAddr = src.buffer().address(at), dstAddr = dst.buffer().address(dst.offset() + i * dst.stride(0));
                // dst receives the per-channel normalised values here; the affine below overwrites them
                stats.execute(ws, DNNL_ARG_SRC, srcAddr, DNNL_ARG_DST, dstAddr, DNNL_ARG_MEAN, m.address(), DNNL_ARG_VARIANCE, v.address());
                m.rawBuffer().get(mean);
                v.rawBuffer().get(var);
                for (int g = 0; g < groups; g++) {
                    double mg = 0;
                    for (int j = g * cg; j < (g + 1) * cg; j++) mg += mean[j];
                    mg /= cg;
                    double vg = 0;
                    for (int j = g * cg; j < (g + 1) * cg; j++) {
                        double d = mean[j] - mg;
                        vg += var[j] + d * d;
                    }
                    vg /= cg;
                    double inv = 1.0 / Math.sqrt(vg + eps);
                    for (int j = g * cg; j < (g + 1) * cg; j++) {
                        mu[j] = (float) mg;
                        a[j] = (float) ((gamma == null ? 1.0 : gamma[j]) * inv);
                        b[j] = beta == null ? 0f : beta[j];
                    }
                }
                // (x - mean) first, as the single-primitive path does: x * a + (beta - mean * a) would cancel when
                // the mean is large against the spread
                m.setFrom(mu);
                ta.setFrom(a);
                tb.setFrom(b);
                apply.execute(ws, DNNL_ARG_SRC_0, srcAddr, DNNL_ARG_SRC_1, m.address(), DNNL_ARG_DST, dstAddr,
                        Dnnl.postOpArg(0, DNNL_ARG_SRC_1), ta.address(), Dnnl.postOpArg(1, DNNL_ARG_SRC_1), tb.address());
            }
        }
        return dst;
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
