package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.util.Arrays;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * A convolution prepared for oneDNN: weights reordered once into the blocked layout the convolution prefers,
 * bias copied, one primitive per (input shape, fused epilogue). Runs channels-last: NHWC in and out, which is
 * where oneDNN's brgemm/AMX convolutions are fastest.
 */
final class DnnlConv2d implements Conv2d {
    /** Input size used to ask oneDNN for its preferred weight layout before any real input is seen. */
    private static final int NOMINAL_SIZE = 64;

    private final DnnlKernels kernels;
    private final Conv2dSpec declared; // as built; spec is what runs (dense for small groups, see runsDense)
    private final Conv2dSpec spec;
    private final PackedWeights weights;
    private final NativeBuffer bias;
    private final PrimitiveCache primitives = new PrimitiveCache();
    private final DnnlIm2colConv im2col;
    private final DnnlTapConv taps; // few output channels: taken apart at the kernel taps ({@link DnnlTapConv}), or null
    private boolean closed;

    DnnlConv2d(DnnlKernels kernels, Conv2dSpec declared, Tensor declaredWeight, Tensor bias) {
        checkWeights(declared, declaredWeight, bias);
        this.kernels = kernels;
        this.declared = declared;
        boolean dense = runsDense(declared);
        this.spec = dense ? denseSpec(declared) : declared;
        try (Tensor blockDiagonal = dense ? blockDiagonal(declared, declaredWeight) : null) {
            Tensor weight = dense ? blockDiagonal : declaredWeight;
            Conv2dSpec spec = this.spec;
            long size = Math.max(NOMINAL_SIZE, Math.max((long) spec.dilationH() * (spec.kernelH() - 1) + 1,
                    (long) spec.dilationW() * (spec.kernelW() - 1) + 1));
            long[] nominal = {1, spec.inChannels(), size, size};
            dnnl_primitive_desc pd;
            try (Dnnl.Scope s = new Dnnl.Scope()) {
                pd = describe(s, spec, nominal, Dnnl.channelsLastStrides(nominal), bias != null, false, 1f, kernels.fpmathMode());
            }
            try (Dnnl.Scope s = new Dnnl.Scope()) {
                this.weights = new PackedWeights("conv2d " + spec, plainWeightsMd(s, spec, weight), weight.address(),
                        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
            } finally {
                dnnl_primitive_desc_destroy(pd);
            }
            this.bias = bias == null ? null : copyToNative(bias);
            this.im2col = new DnnlIm2colConv(kernels, spec, weights);
            this.taps = DnnlTapConv.applies(spec) && TAPS ? new DnnlTapConv(kernels, spec, weight, bias) : null;
        }
    }

    /**
     * Whether a grouped convolution runs as a dense one with block-diagonal weights (zeros outside each group):
     * oneDNN's grouped kernels pad every group to 16 input x 16 output channels, so groups of a few channels (MK-UNet's
     * attention gates: 2 inputs, 1 output per group) used 1/128 of the vector lanes, and the dense convolution, padded
     * once, does the same sums faster while {@code ceil16(in) * ceil16(out) <= groups * 16 * 16}. Depth-wise
     * convolutions (one channel per group) keep their own kernels.
     */
    static boolean runsDense(Conv2dSpec spec) {
        int g = spec.groups(), in = spec.inChannels() / Math.max(g, 1), out = spec.outChannels() / Math.max(g, 1);
        if (g <= 1 || (in == 1 && out == 1) || in >= 16 || out >= 16) return false;
        long padded = (long) ceil16(spec.inChannels()) * ceil16(spec.outChannels());
        return padded <= (long) g * 16 * 16;
    }

    private static int ceil16(int n) {
        return (n + 15) / 16 * 16;
    }

    static Conv2dSpec denseSpec(Conv2dSpec s) {
        return new Conv2dSpec(s.inChannels(), s.outChannels(), s.kernelH(), s.kernelW(), s.strideH(), s.strideW(), s.padTop(),
                s.padBottom(), s.padLeft(), s.padRight(), s.dilationH(), s.dilationW(), 1);
    }

    /** The grouped {@code weight} ({@code [out, in/g, kh, kw]}) as dense {@code [out, in, kh, kw]}, zero outside each group. */
    static Tensor blockDiagonal(Conv2dSpec spec, Tensor weight) {
        int out = spec.outChannels(), in = spec.inChannels(), g = spec.groups(), inG = in / g, outG = out / g;
        int taps = spec.kernelH() * spec.kernelW();
        float[] w = weight.toFloatArray(), d = new float[out * in * taps];
        for (int o = 0; o < out; o++) {
            int first = o / outG * inG; // the group's first input channel
            System.arraycopy(w, o * inG * taps, d, (o * in + first) * taps, inG * taps);
        }
        return Tensor.of(d, out, in, spec.kernelH(), spec.kernelW());
    }

    /** {@code -Dunet4j.conv.taps=false} runs few-output-channel convolutions directly (for A/B measurements). */
    private static final boolean TAPS = !"false".equals(System.getProperty("unet4j.conv.taps"));

    static void checkWeights(Conv2dSpec spec, Tensor weight, Tensor bias) {
        if (!Arrays.equals(weight.shape(), spec.weightShape())) {
            throw new IllegalArgumentException("conv2d " + spec + ": weight " + weight + ", expected shape " + Arrays.toString(spec.weightShape()));
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != spec.outChannels())) {
            throw new IllegalArgumentException("conv2d " + spec + ": bias " + bias + ", expected [" + spec.outChannels() + "]");
        }
    }

    static void checkInput(Conv2dSpec spec, Tensor x, Tensor residual) {
        if (x.rank() != 4 || x.dim(1) != spec.inChannels()) {
            throw new IllegalArgumentException("conv2d " + spec + ": input " + x + ", expected [N, " + spec.inChannels() + ", H, W]");
        }
        if (spec.outH(x.dim(2)) <= 0 || spec.outW(x.dim(3)) <= 0) {
            throw new IllegalArgumentException("conv2d " + spec + ": input " + x + " smaller than the kernel");
        }
        if (residual != null && !Arrays.equals(residual.shape(), outShape(spec, x))) {
            throw new IllegalArgumentException("conv2d " + spec + ": residual " + residual + ", expected " + Arrays.toString(outShape(spec, x)));
        }
    }

    static long[] outShape(Conv2dSpec spec, Tensor x) {
        return new long[]{x.dim(0), spec.outChannels(), spec.outH(x.dim(2)), spec.outW(x.dim(3))};
    }

    /** A 1-D copy of {@code bias} in native memory owned by the layer. */
    static NativeBuffer copyToNative(Tensor bias) {
        NativeBuffer b = Allocator.direct().acquire(bias.numel());
        b.floatBuffer(0, bias.numel()).put(bias.toFloatArray());
        return b;
    }

    /** Weights as torch stores them: {@code oihw}, or {@code goihw} (5-D) for grouped convolutions. */
    static dnnl_memory_desc plainWeightsMd(Dnnl.Scope s, Conv2dSpec spec, Tensor w) {
        long[] st = w.strides();
        if (spec.groups() == 1) return s.md(w.shape(), st);
        long g = spec.groups(), og = spec.outChannels() / g;
        return s.md(new long[]{g, og, spec.inChannels() / g, spec.kernelH(), spec.kernelW()},
                new long[]{og * st[0], st[0], st[1], st[2], st[3]});
    }

    /**
     * The convolution descriptor: {@code src} as given (normally NHWC), weights in the layout oneDNN prefers,
     * NHWC destination, and the epilogue {@code (y + residual) * scale} as post-ops.
     */
    static dnnl_primitive_desc describe(Dnnl.Scope s, Conv2dSpec spec, long[] srcDims, long[] srcStrides, boolean hasBias,
                                        boolean residual, float scale, int fpmath) {
        return describe(s, spec, srcDims, srcStrides, hasBias, residual, scale, fpmath, false);
    }

    /**
     * As above; with {@code int8} the source and weights are s8 with runtime scales (per-tensor source, per-output-
     * channel weights) and the destination stays f32.
     */
    static dnnl_primitive_desc describe(Dnnl.Scope s, Conv2dSpec spec, long[] srcDims, long[] srcStrides, boolean hasBias,
                                        boolean residual, float scale, int fpmath, boolean int8) {
        long[] dst = {srcDims[0], spec.outChannels(), spec.outH(srcDims[2]), spec.outW(srcDims[3])};
        long g = spec.groups();
        long[] wDims = g == 1
                ? new long[]{spec.outChannels(), spec.inChannels(), spec.kernelH(), spec.kernelW()}
                : new long[]{g, spec.outChannels() / g, spec.inChannels() / g, spec.kernelH(), spec.kernelW()};
        int type = int8 ? dnnl_s8 : Dnnl.floatType(fpmath);
        dnnl_memory_desc srcMd = s.md(srcDims, srcStrides, type);
        dnnl_memory_desc wMd = s.tag(wDims, dnnl_format_tag_any, type);
        dnnl_memory_desc bMd = hasBias ? s.tag(new long[]{spec.outChannels()}, dnnl_a) : null;
        dnnl_memory_desc dstMd = s.md(dst, Dnnl.channelsLastStrides(dst));
        dnnl_primitive_attr attr = s.attr(fpmath);
        if (int8) {
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC, 0), "set_scales_mask(src)");
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, g == 1 ? 1 : 3), "set_scales_mask(weights, per output channel)");
        }
        s.residualAndScale(attr, residual ? dstMd : null, scale);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_convolution_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_convolution_direct,
                        srcMd, wMd, bMd, dstMd,
                        new long[]{spec.strideH(), spec.strideW()},
                        new long[]{spec.dilationH() - 1, spec.dilationW() - 1},
                        new long[]{spec.padTop(), spec.padLeft()},
                        new long[]{spec.padBottom(), spec.padRight()}, attr),
                "convolution_forward_primitive_desc_create(" + spec + ", src " + Arrays.toString(srcDims) + ")");
        return pd;
    }

    static Key key(String op, Conv2dSpec spec, Tensor x, boolean hasBias, boolean residual, float scale) {
        return key(op, spec, x, hasBias, residual, scale, new long[0]);
    }

    static Key key(String op, Conv2dSpec spec, Tensor x, boolean hasBias, boolean residual, float scale, long[] extra) {
        return Key.of(op).add(extra).add(spec.inChannels()).add(spec.outChannels()).add(spec.kernelH()).add(spec.kernelW())
                .add(spec.strideH()).add(spec.strideW()).add(spec.padTop()).add(spec.padBottom()).add(spec.padLeft())
                .add(spec.padRight()).add(spec.dilationH()).add(spec.dilationW()).add(spec.groups())
                .add(x.shape()).add(hasBias).add(residual).add(scale).build();
    }

    static Primitive primitive(PrimitiveCache cache, Key key, Conv2dSpec spec, Tensor xNhwc, boolean hasBias, boolean residual,
                               float scale, int fpmath) {
        return cache.get(key, k -> "conv2d " + spec + " on " + xNhwc + (residual ? " + residual" : "") + (scale != 1f ? " * " + scale : ""),
                s -> describe(s, spec, xNhwc.shape(), xNhwc.strides(), hasBias, residual, scale, fpmath));
    }

    @Override
    public Conv2dSpec spec() {
        return declared;
    }

    @Override
    public Tensor forward(Workspace workspace, Tensor x, Tensor residual, float outputScale) {
        DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
        checkInput(spec, x, residual);
        try (Tensor xin = kernels.channelsLastOrNull(ws, x); Tensor rin = kernels.channelsLastOrNull(ws, residual)) {
            Tensor src = xin != null ? xin : x;
            Tensor res = rin != null ? rin : residual;
            if (taps != null && DnnlTapConv.pays(spec, x)) return taps.forward(ws, src, res, outputScale);
            if (DnnlIm2colConv.applies(spec, x)) return im2col.forward(ws, src, bias, res, outputScale);
            im2col.pinConvWeights();
            Primitive p = primitive(primitives, key("conv2d", spec, x, bias != null, res != null, outputScale), spec, src,
                    bias != null, res != null, outputScale, kernels.fpmathMode());
            return run(ws, p, spec, x, src, weights.address(p.argMd(DNNL_ARG_WEIGHTS)), bias == null ? 0 : bias.address(0), res);
        }
    }

    /**
     * Runs convolution {@code p} (made by {@link #primitive} or {@link #describe}) on channels-last {@code src} (the
     * input {@code x} gives the output shape) with weights in {@code p}'s layout at {@code weights}, the bias at
     * {@code bias} (0: none) and the residual post-op operand {@code res} (null: none); the result is a new
     * channels-last tensor, closed again if the run fails.
     */
    static Tensor run(DnnlWorkspace ws, Primitive p, Conv2dSpec spec, Tensor x, Tensor src, long weights, long bias, Tensor res) {
        long[] o = outShape(spec, x);
        Tensor out = Tensor.allocateChannelsLast(ws.allocator(), o[0], o[1], o[2], o[3]);
        ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_WEIGHTS, weights).add(DNNL_ARG_DST, out.address());
        if (bias != 0) args.add(DNNL_ARG_BIAS, bias);
        if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
        return DnnlPointwise.run(ws, p, out, args.toArray());
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        im2col.close();
        if (taps != null) taps.close();
        primitives.close();
        weights.close();
        if (bias != null) Allocator.direct().release(bias);
    }
}
