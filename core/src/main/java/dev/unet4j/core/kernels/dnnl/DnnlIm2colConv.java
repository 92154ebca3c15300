package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * A convolution over few output pixels as one matmul: {@code cols [B*OH*OW, KH*KW*IC] x W [KH*KW*IC, OC]}, the
 * columns gathered from the NHWC input by one bulk copy per (output pixel, kernel tap). oneDNN's brgemm convolution walks the
 * output row by row and streams all weights once per row, which at a UNet's 4x4 or 8x8 levels (weights of 60-120 MB
 * per 3x3 conv, 2-8 output pixels per row) makes it memory bound at a fraction of sgemm speed; the matmul reads the
 * weights once. Same fused epilogue as the convolution: bias, {@code (y + residual) * scale}.
 */
final class DnnlIm2colConv implements AutoCloseable {
    /** Output pixels (batch included) up to which the matmul form is used; above, brgemm convolution wins. */
    static final long MAX_ROWS = 512;
    /**
     * Weights from which on the matmul form is used: smaller ones stay in L2 between output rows, and there the
     * convolution is as fast as the matmul without the gather (ddpm-cifar10's 256-channel 3x3 convs, 2.4-4.7 MB).
     */
    static final long MIN_WEIGHT_BYTES = 8L << 20;

    private final DnnlKernels kernels;
    private final Conv2dSpec spec;
    private final PackedWeights convWeights;
    private final PrimitiveCache primitives = new PrimitiveCache();
    private PackedWeights weights; // [KH*KW*IC, OC] in the matmul's layout, made on first use
    private boolean convUsed;      // the convolution primitive has used convWeights: they are never evicted again

    DnnlIm2colConv(DnnlKernels kernels, Conv2dSpec spec, PackedWeights convWeights) {
        this.kernels = kernels;
        this.spec = spec;
        this.convWeights = convWeights;
    }

    /** Whether {@code x} ({@code [N, C, H, W]}) is computed here rather than by the convolution primitive. */
    static boolean applies(Conv2dSpec spec, Tensor x) {
        long rows = x.dim(0) * spec.outH(x.dim(2)) * spec.outW(x.dim(3));
        long weightBytes = (long) Float.BYTES * spec.outChannels() * spec.inChannels() * spec.kernelH() * spec.kernelW();
        return spec.groups() == 1 && spec.kernelH() * spec.kernelW() > 1 && rows <= MAX_ROWS && weightBytes >= MIN_WEIGHT_BYTES;
    }

    /** {@code src} NHWC; {@code res} null or dense NHWC of the output shape. */
    Tensor forward(DnnlWorkspace ws, Tensor src, NativeBuffer bias, Tensor res, float scale) {
        long n = src.dim(0), oh = spec.outH(src.dim(2)), ow = spec.outW(src.dim(3)), m = n * oh * ow;
        long k = (long) spec.kernelH() * spec.kernelW() * spec.inChannels(), oc = spec.outChannels();
        Key key = Key.of("conv2d.im2col").add(m).add(res != null).add(scale).build();
        Primitive p = primitives.get(key, kk -> "conv2d " + spec + " as matmul [" + m + ", " + k + "] x [" + k + ", " + oc + "]",
                s -> DnnlLinear.describe(s, m, k, k, 1, oc, null, bias != null, res != null, scale, kernels.fpmathMode()));
        long weightsAddress = weights(p.argMd(DNNL_ARG_WEIGHTS));
        Tensor out = Tensor.allocateChannelsLast(ws.allocator(), n, oc, oh, ow);
        try (Tensor cols = Tensor.allocate(ws.allocator(), m, k)) {
            gather(spec, src, cols);
            ArgList args = new ArgList().add(DNNL_ARG_SRC, cols.address()).add(DNNL_ARG_WEIGHTS, weightsAddress)
                    .add(DNNL_ARG_DST, out.address());
            if (bias != null) args.add(DNNL_ARG_BIAS, bias.address(0));
            if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
            p.execute(ws, args.toArray());
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    /**
     * im2col of NHWC {@code src} into {@code cols [B*OH*OW, KH*KW*IC]}: row {@code (b, y, x)}, column
     * {@code (kh, kw, c)} = the zero-padded input at the tap. In NHWC each tap
     * of each output pixel is one contiguous run of C floats, so this is one bulk copy (or zero fill) per (pixel, tap).
     * (A strided oneDNN reorder per tap did the same at 0.2-6 ms per tap: its jit reorder is pathologically slow for
     * some channel counts, e.g. 1920.)
     */
    static void gather(Conv2dSpec spec, Tensor src, Tensor cols) {
        int n = Math.toIntExact(src.dim(0)), c = Math.toIntExact(src.dim(1)), h = Math.toIntExact(src.dim(2)), w = Math.toIntExact(src.dim(3));
        int oh = Math.toIntExact(spec.outH(h)), ow = Math.toIntExact(spec.outW(w)), k = Math.toIntExact(cols.dim(1));
        if (src.stride(1) != 1) throw new IllegalArgumentException("im2col: input " + src + " must be channels-last");
        java.nio.FloatBuffer in = src.rawBuffer(), out = cols.rawBuffer();
        float[] zeros = new float[c];
        long s0 = src.stride(0), s2 = src.stride(2), s3 = src.stride(3);
        int row = 0;
        for (int b = 0; b < n; b++) {
            for (int oy = 0; oy < oh; oy++) {
                for (int ox = 0; ox < ow; ox++, row++) {
                    int col = row * k;
                    for (int kh = 0; kh < spec.kernelH(); kh++) {
                        int iy = oy * spec.strideH() - spec.padTop() + kh * spec.dilationH();
                        for (int kw = 0; kw < spec.kernelW(); kw++, col += c) {
                            int ix = ox * spec.strideW() - spec.padLeft() + kw * spec.dilationW();
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) {
                                out.put(col, zeros, 0, c);
                            } else {
                                out.put(col, in, Math.toIntExact(b * s0 + iy * s2 + ix * s3), c);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The weights as {@code [KH*KW*IC, OC]} in layout {@code wanted}: the conv's packed copy, reordered once. The
     * conv's own copy is then evicted (unless the convolution primitive has run), so a layer computed as a matmul
     * keeps one copy of its weights, not two (SD 1.5: ~2 GB).
     */
    private synchronized long weights(dnnl_memory_desc wanted) {
        if (weights == null) {
            try (Tensor hwio = Tensor.allocate(dev.unet4j.core.tensor.Allocator.direct(), kernelRows(), spec.outChannels());
                 Dnnl.Scope s = new Dnnl.Scope()) {
                convWeights.copyInto(hwioAsOihw(s), hwio.address());
                weights = new PackedWeights("conv2d " + spec + " as matmul", s.md(hwio.shape(), hwio.strides()), hwio.address(), wanted);
            }
            if (!convUsed) convWeights.evict();
        }
        return weights.address(wanted);
    }

    /**
     * Called before the convolution primitive uses {@code convWeights}: refills them from the matmul copy if they
     * were evicted, and pins them (no later eviction, so concurrent convolutions never see them freed).
     */
    synchronized void pinConvWeights() {
        convUsed = true;
        if (!convWeights.isEvicted()) return;
        try (Tensor hwio = Tensor.allocate(dev.unet4j.core.tensor.Allocator.direct(), kernelRows(), spec.outChannels());
             Dnnl.Scope s = new Dnnl.Scope()) {
            weights.copyInto(s.md(hwio.shape(), hwio.strides()), hwio.address());
            convWeights.restore(hwioAsOihw(s), hwio.address());
        }
    }

    private long kernelRows() {
        return (long) spec.kernelH() * spec.kernelW() * spec.inChannels();
    }

    /** oihw dims over a row-major [KH*KW*IC, OC] buffer laid out (kh, kw, i, o). */
    private dnnl_memory_desc hwioAsOihw(Dnnl.Scope s) {
        long o = spec.outChannels(), i = spec.inChannels(), kh = spec.kernelH(), kw = spec.kernelW();
        return s.md(new long[]{o, i, kh, kw}, new long[]{1, o, kw * i * o, i * o});
    }

    @Override
    public synchronized void close() {
        primitives.close();
        if (weights != null) weights.close();
        weights = null;
    }
}
