package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;
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
            if (byRows(src, groups)) {
                try {
                    return groupNormByRows(ws, src, dst, groups, scale, shift, eps, silu);
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
     * oneDNN's group norm reads a channels-last map group by group, i.e. runs of {@code C/G} floats (4 or 8 in most
     * UNets) at a stride of C: 3-8 GB/s, 225 us for a 32x32x128 map; its time grows with the pixel count N*H*W
     * (20x32x8x8: 78 us, 20x64x4x4: 26 us). Maps of at least {@link #ROWS_MIN_ELEMENTS}, and narrow maps
     * (C <= {@value #ROWS_MAX_NARROW_CHANNELS}) of at least {@value #ROWS_MIN_NARROW_PIXELS} pixels (39 and 19 us for
     * those two) take {@link #groupNormByRows} instead; below that its extra calls cost more than they save.
     * {@code -Dunet4j.groupnorm=primitive|rows} forces one path (for A/B measurements).
     */
    private static boolean byRows(Tensor src, int groups) {
        if (src.rank() != 4 || !src.isChannelsLast() || src.dim(1) == groups || GROUP_NORM_MODE.equals("primitive")) return false;
        long pixels = src.dim(0) * src.dim(2) * src.dim(3);
        return GROUP_NORM_MODE.equals("rows") || src.numel() >= ROWS_MIN_ELEMENTS
                || (src.dim(1) <= ROWS_MAX_NARROW_CHANNELS && pixels >= ROWS_MIN_NARROW_PIXELS);
    }

    private static final String GROUP_NORM_MODE = System.getProperty("unet4j.groupnorm", "auto");
    private static final long ROWS_MIN_ELEMENTS = 1 << 16;
    /** Maps larger than this are normalised from streamed statistics ({@link #groupNormByStatistics}), not a rows copy. */
    private static final long ROWS_COPY_MAX_BYTES = 16L << 20;
    private static final long ROWS_MAX_NARROW_CHANNELS = 64, ROWS_MIN_NARROW_PIXELS = 256;

    /**
     * Channels-last group norm as jit primitives: a reorder gathers each (sample, group) into one dense row
     * {@code [HW * C/G]} (oneDNN's {@code aBcd<C/G>b} blocking where it has one), a layer norm without affine
     * normalises the rows in place (oneDNN: mean, then variance of the centred values), a reorder puts them back
     * channels-last, and one in-place binary applies gamma, beta (post-op) and the SiLU (post-op). 32x32x128:
     * 225 -> 100 us; a batch-20 16x16x64 map: 285 -> 205 us.
     */
    private Tensor groupNormByRows(DnnlWorkspace ws, Tensor src, Tensor dst, int groups, Tensor scale, Tensor shift, float eps, boolean silu) {
        if (src.numel() * Float.BYTES > ROWS_COPY_MAX_BYTES) return groupNormByStatistics(ws, src, dst, groups, scale, shift, eps, silu);
        normalizeGroupRows(ws, src, dst, groups, eps);
        affineInPlace(ws, dst, scale, shift, silu);
        return dst;
    }

    /**
     * Channels-last group norm of a large map in four streaming passes and no copy beside {@code dst} (a VAE
     * decoder's 256-channel 512x512 map is 268 MB): per-channel means (oneDNN's jit global average pooling), averaged
     * into group means; {@code dst = (x - mean_g)^2} (one binary, square post-op) and its per-channel means, averaged
     * into the groups' biased variances, as torch's two-pass {@code group_norm}; then one binary
     * {@code dst = silu?(x * a + b)} with per-(image, channel) {@code a = gamma / sqrt(var_g + eps)} and
     * {@code b = beta - mean_g * a}. Gathering group rows one (image, group) at a time instead reads the whole map
     * twice per group (runs of C/G floats at a stride of C): 1.5 s of a 14 s SD VAE decode at 512x512, now 0.9 s
     * (most of it first-touch page faults of {@code dst}).
     */
    private Tensor groupNormByStatistics(DnnlWorkspace ws, Tensor src, Tensor dst, int groups, Tensor scale, Tensor shift, float eps, boolean silu) {
        int n = (int) src.dim(0), c = (int) src.dim(1), cg = c / groups;
        double[] mean = new double[n * c], variance = new double[n * c];
        try (Tensor channelMeans = kernels.reduce(ws, src, false, 2, 3)) {           // [n, c, 1, 1]
            float[] m = channelMeans.toFloatArray();
            forEachGroup(n, groups, cg, m, mean);
        }
        try (Tensor groupMean = perChannel(ws, n, c, mean)) {
            perImage(ws, "group norm deviations", src, dst, dnnl_binary_sub, groupMean, null, dnnl_eltwise_square);
        }
        try (Tensor channelVars = kernels.reduce(ws, dst, false, 2, 3)) {
            forEachGroup(n, groups, cg, channelVars.toFloatArray(), variance);
        }
        float[] g = scale == null ? null : scale.toFloatArray(), b = shift == null ? null : shift.toFloatArray();
        double[] a = new double[n * c], sh = new double[n * c];
        for (int i = 0; i < n * c; i++) {
            double r = 1 / Math.sqrt(variance[i] + eps);
            a[i] = g == null ? r : g[i % c] * r;
            sh[i] = (b == null ? 0 : b[i % c]) - mean[i] * a[i];
        }
        try (Tensor at = perChannel(ws, n, c, a); Tensor sht = perChannel(ws, n, c, sh)) {
            perImage(ws, "group norm affine", src, dst, dnnl_binary_mul, at, sht, silu ? dnnl_eltwise_swish : 0);
        }
        return dst;
    }

    /** {@code out[b * c + ch]} = the mean of {@code channelValues} over the group of channel {@code ch} of image b. */
    private static void forEachGroup(int n, int groups, int cg, float[] channelValues, double[] out) {
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < groups; gi++) {
                int first = (b * groups + gi) * cg;
                double sum = 0;
                for (int j = 0; j < cg; j++) sum += channelValues[first + j];
                java.util.Arrays.fill(out, first, first + cg, sum / cg);
            }
        }
    }

    private static Tensor perChannel(DnnlWorkspace ws, int n, int c, double[] values) {
        Tensor t = Tensor.allocate(ws.allocator(), n, c, 1, 1);
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
        t.setFrom(f);
        return t;
    }

    /**
     * {@link #binaryInto} one image at a time: oneDNN's jit binary takes a per-channel {@code [1, C, 1, 1]} operand
     * (and post-op operand), but one that varies per image too ({@code [N, C, 1, 1]}) sends it to its reference code
     * (0.27-0.41 s for one 2x640x64x64 map of an SD 1.5 UNet, 30x the jit time).
     */
    private void perImage(DnnlWorkspace ws, String what, Tensor x, Tensor dst, int alg, Tensor s1, Tensor addend, int post) {
        for (long b = 0; b < x.dim(0); b++) {
            try (Tensor xb = x.narrow(0, b, 1); Tensor db = dst.narrow(0, b, 1); Tensor sb = s1.narrow(0, b, 1);
                 Tensor ab = addend == null ? null : addend.narrow(0, b, 1)) {
                binaryInto(ws, what, xb, db, alg, sb, ab, post);
            }
        }
    }

    /**
     * {@code dst = post(x (alg) s1 [+ addend])} with {@code s1}, {@code addend} of shape {@code [1, C, 1, 1]} (row-major)
     * broadcast over the map ({@link #perImage} for per-image operands); {@code post} an eltwise algorithm, or 0 for none.
     */
    private void binaryInto(DnnlWorkspace ws, String what, Tensor x, Tensor dst, int alg, Tensor s1, Tensor addend, int post) {
        long[] operand = s1.shape();
        Primitive p = kernels.cache().get(Key.of("gnBinary").add(x).add(dst.strides()).add(operand).add(alg).add(addend != null).add(post).build(),
                k -> what + " " + x, s -> {
                    dnnl_primitive_attr attr = s.attr();
                    dnnl_post_ops po = s.postOps();
                    if (addend != null) check(dnnl_post_ops_append_binary(po, dnnl_binary_add, s.tag(operand, dnnl_abcd)), "post_ops_append_binary(add)");
                    if (post != 0) check(dnnl_post_ops_append_eltwise(po, post, 1f, 0f), "post_ops_append_eltwise");
                    check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
                    dnnl_primitive_desc pd = new dnnl_primitive_desc();
                    check(dnnl_binary_primitive_desc_create(pd, engine(), alg, s.md(x), s.tag(operand, dnnl_abcd), s.md(dst), attr),
                            "binary_primitive_desc_create(" + what + " of " + x + ")");
                    return pd;
                });
        ArgList args = new ArgList().add(DNNL_ARG_SRC_0, x.address()).add(DNNL_ARG_SRC_1, s1.address()).add(DNNL_ARG_DST, dst.address());
        if (addend != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), addend.address());
        p.execute(ws, args.toArray());
    }

    /** {@code dst} = each group of {@code src} normalised (no affine), through a dense rows copy of {@code src}. */
    private void normalizeGroupRows(DnnlWorkspace ws, Tensor src, Tensor dst, int groups, float eps) {
        long n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3), cg = c / groups, hw = h * w;
        long[] five = {n, groups, cg, h, w};
        long[] rowStrides = {groups * hw * cg, hw * cg, 1, w * cg, cg};
        long[] dstStrides = {dst.stride(0), cg, 1, dst.stride(2), dst.stride(3)};
        long[] srcS = {src.stride(0), cg, 1, src.stride(2), src.stride(3)};
        long[] rows = {n * groups, hw * cg};
        Primitive gather = kernels.cache().get(Key.of("gnGather").add(five).add(srcS).build(), k -> "group rows of " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            int tag = blockedTag(cg);
            dnnl_memory_desc from = tag != 0 ? s.md(src) : s.md(five, srcS), to = tag != 0 ? s.tag(src.shape(), tag) : s.md(five, rowStrides);
            check(dnnl_reorder_primitive_desc_create(pd, from, engine(), to, engine(), s.attr()), "reorder_primitive_desc_create(group rows)");
            return pd;
        });
        Primitive norm = kernels.cache().get(Key.of("gnRows").add(rows).add(eps).build(), k -> "group rows layer norm " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            check(dnnl_layer_normalization_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference,
                    s.tag(rows, dnnl_ab), s.tag(rows, dnnl_ab), null, eps, 0, s.attr()), "layer_normalization_forward_primitive_desc_create(group rows)");
            return pd;
        });
        Primitive scatter = kernels.cache().get(Key.of("gnScatter").add(five).add(dstStrides).build(), k -> "group rows back to " + src, s -> {
            dnnl_primitive_desc pd = new dnnl_primitive_desc();
            int tag = blockedTag(cg);
            dnnl_memory_desc from = tag != 0 ? s.tag(dst.shape(), tag) : s.md(five, rowStrides), to = tag != 0 ? s.md(dst) : s.md(five, dstStrides);
            check(dnnl_reorder_primitive_desc_create(pd, from, engine(), to, engine(), s.attr()), "reorder_primitive_desc_create(group rows back)");
            return pd;
        });
        try (Tensor r = Tensor.allocate(ws.allocator(), rows)) {
            gather.execute(ws, DNNL_ARG_FROM, src.address(), DNNL_ARG_TO, r.address());
            norm.execute(ws, DNNL_ARG_SRC, r.address(), DNNL_ARG_DST, r.address());
            scatter.execute(ws, DNNL_ARG_FROM, r.address(), DNNL_ARG_TO, dst.address());
        }
    }

    /** oneDNN's format tag for NCHW with channel blocks of {@code cg} innermost ({@code [N, C/cg, H, W, cg]}), or 0. */
    private static int blockedTag(long cg) {
        return switch ((int) cg) {
            case 4 -> dnnl_aBcd4b;
            case 8 -> dnnl_aBcd8b;
            case 16 -> dnnl_aBcd16b;
            case 32 -> dnnl_aBcd32b;
            default -> 0;
        };
    }

    /** {@code x = silu?(x * gamma[c] + beta[c])} in place on a 4-D map: one jit binary with per-channel operands. */
    private void affineInPlace(DnnlWorkspace ws, Tensor x, Tensor scale, Tensor shift, boolean silu) {
        if (scale == null && shift == null && !silu) return;
        if (scale == null && shift == null) {
            kernels.pointwise().eltwiseInto(ws, "groupNorm silu", x, x, dnnl_eltwise_swish, 1f, 0f);
            return;
        }
        long c = x.dim(1);
        Tensor first = scale != null ? scale : shift, second = scale != null ? shift : null;
        try (Tensor s1 = asChannels(first, c); Tensor s2 = second == null ? null : asChannels(second, c)) {
            binaryInto(ws, "group norm affine", x, x, scale != null ? dnnl_binary_mul : dnnl_binary_add, s1, s2, silu ? dnnl_eltwise_swish : 0);
        }
    }

    /** A contiguous {@code [C]} parameter seen as the {@code [1, C, 1, 1]} operand {@link #binaryInto} broadcasts. */
    private static Tensor asChannels(Tensor p, long c) {
        return p.view(new long[]{1, c, 1, 1}, new long[]{c, 1, 1, 1}, p.offset());
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
