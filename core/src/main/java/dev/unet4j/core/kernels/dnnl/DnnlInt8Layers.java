package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.BytePointer;

import java.util.Arrays;

import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * int8 layers for the quantisation helper: s8 weights with per-output-channel scales, activations quantised per call
 * with a dynamic per-tensor scale ({@link DnnlQuantizer}), s8 x s8 -> f32 oneDNN convolution/matmul (VNNI/AMX), the
 * same fused bias, residual and output scale as the float layers.
 *
 * <p>Memory: per weight, one byte of plain s8 codes plus one per packed layout in use (usually one; oneDNN adds a
 * small per-output-channel compensation), so about a half of the float32 layer's four; any input size can ask for a
 * new layout, which is reordered from the plain codes ({@link PackedWeights#keepingPlain}).
 */
final class DnnlInt8Layers {
    private static final int SLOT_SRC_SCALE = 6;

    private DnnlInt8Layers() {
    }

    /** Per-output-channel float scales in native memory. */
    private static NativeBuffer nativeScales(float[] scales) {
        NativeBuffer b = Allocator.direct().acquire(scales.length);
        b.floatBuffer(0, scales.length).put(scales);
        return b;
    }

    /**
     * Runs an int8 primitive on the s8 activations {@code q} (scale {@code srcScale}) and the packed s8 weights with
     * per-output-channel scales, fused bias and residual, into {@code dst} (returned; closed on failure).
     */
    private static Tensor execute(DnnlWorkspace ws, Primitive p, Tensor q, float srcScale, PackedWeights weights,
                                  NativeBuffer weightScales, NativeBuffer bias, Tensor res, Tensor dst) {
        ArgList args = new ArgList().add(DNNL_ARG_SRC, q.address()).add(DNNL_ARG_WEIGHTS, weights.address(p.argMd(DNNL_ARG_WEIGHTS)))
                .add(DNNL_ARG_DST, dst.address()).add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, ws.scalar(SLOT_SRC_SCALE, srcScale))
                .add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, weightScales.address(0));
        if (bias != null) args.add(DNNL_ARG_BIAS, bias.address(0));
        if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
        return DnnlPointwise.run(ws, p, dst, args.toArray());
    }

    /** Frees a layer's native state; {@code weights} is null where the layer runs {@link DequantizedInt8}. */
    private static void release(PrimitiveCache primitives, PackedWeights weights, NativeBuffer weightScales, NativeBuffer bias) {
        primitives.close();
        if (weights != null) weights.close();
        Allocator.direct().release(weightScales);
        if (bias != null) Allocator.direct().release(bias);
    }

    /** The activation scale that asks for a per-call {@code max|x| / 127}. */
    static final float DYNAMIC_SCALE = 0f;

    private static void checkActivationScale(String layer, float scale) {
        if (scale != DYNAMIC_SCALE && !(scale > 0 && Float.isFinite(scale))) {
            throw new IllegalArgumentException(layer + ": static activation scale " + scale + " is not positive and finite");
        }
    }

    private static void checkScales(String layer, float[] scales, long channels) {
        if (scales.length != channels) throw new IllegalArgumentException(layer + ": " + scales.length + " weight scales for " + channels + " output channels");
        for (float v : scales) {
            if (!(v > 0) || !Float.isFinite(v)) throw new IllegalArgumentException(layer + ": weight scale " + v + " is not positive and finite");
        }
    }

    static final class Int8Conv2d implements Conv2d {
        private final DnnlKernels kernels;
        private final Conv2dSpec spec;
        private final PackedWeights weights; // null where the CPU has no 8-bit dot products (see dequantized)
        private final NativeBuffer weightScales, bias;
        private final PrimitiveCache primitives = new PrimitiveCache();
        private final float activationScale; // DYNAMIC_SCALE: max|x| / 127 per call
        private final Conv2d dequantized;    // no 8-bit dot products on this CPU: the quantized operands in float32
        private boolean closed;

        Int8Conv2d(DnnlKernels kernels, Conv2dSpec spec, byte[] weightsOihw, float[] perOutChannelScale, Tensor bias, float activationScale) {
            String layer = "int8 conv2d " + spec;
            checkActivationScale(layer, activationScale);
            this.activationScale = activationScale;
            long[] ws = spec.weightShape();
            if (weightsOihw.length != Tensor.numel(ws)) {
                throw new IllegalArgumentException(layer + ": " + weightsOihw.length + " weight bytes, expected " + Arrays.toString(ws) + " = " + Tensor.numel(ws));
            }
            checkScales(layer, perOutChannelScale, spec.outChannels());
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != spec.outChannels())) {
                throw new IllegalArgumentException(layer + ": bias " + bias + ", expected [" + spec.outChannels() + "]");
            }
            this.kernels = kernels;
            this.spec = spec;
            if (CpuFeatures.hasInt8DotProduct()) {
                this.dequantized = null;
                this.weights = packed(layer, spec, weightsOihw, bias != null);
            } else {
                try (Tensor w = DequantizedInt8.weights(weightsOihw, perOutChannelScale, ws)) {
                    this.dequantized = new DnnlConv2d(kernels, spec, w, bias);
                }
                this.weights = null;
            }
            this.weightScales = nativeScales(perOutChannelScale);
            this.bias = bias == null ? null : DnnlConv2d.copyToNative(bias);
        }

        /** The s8 codes packed for a nominal 64x64 input, keeping the plain codes for the layouts other sizes ask for. */
        private static PackedWeights packed(String layer, Conv2dSpec spec, byte[] weightsOihw, boolean hasBias) {
            long[] nominal = {1, spec.inChannels(), 64, 64};
            dnnl_primitive_desc pd;
            try (Dnnl.Scope s = new Dnnl.Scope()) {
                pd = DnnlConv2d.describe(s, spec, nominal, Dnnl.channelsLastStrides(nominal), hasBias, false, 1f, dnnl_fpmath_mode_strict, true);
            }
            try (Dnnl.Scope s = new Dnnl.Scope(); BytePointer plain = new BytePointer(weightsOihw)) {
                long g = spec.groups(), og = spec.outChannels() / g, ig = spec.inChannels() / g, kh = spec.kernelH(), kw = spec.kernelW();
                long[] dims = g == 1 ? spec.weightShape() : new long[]{g, og, ig, kh, kw};
                return PackedWeights.keepingPlain(layer, s.md(dims, Tensor.rowMajorStrides(dims), dnnl_s8), plain.address(),
                        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
            } finally {
                dnnl_primitive_desc_destroy(pd);
            }
        }

        @Override
        public Conv2dSpec spec() {
            return spec;
        }

        @Override
        public Tensor forward(Workspace workspace, Tensor x, Tensor residual, float outputScale) {
            DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
            DnnlConv2d.checkInput(spec, x, residual);
            try (Tensor xin = kernels.channelsLastOrNull(ws, x); Tensor rin = kernels.channelsLastOrNull(ws, residual);
                 Tensor q = Tensor.allocate(ws.allocator(), (x.numel() + 3) / 4)) {
                Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual;
                float srcScale = activationScale == DYNAMIC_SCALE ? kernels.quantizer().scale(ws, src) : activationScale;
                long[] qStrides = Dnnl.channelsLastStrides(src.shape());
                kernels.quantizer().quantize(ws, src, srcScale, q.address(), qStrides);
                if (dequantized != null) {
                    try (Tensor xq = DequantizedInt8.activations(ws.allocator(), q.address(), src.shape(), qStrides, srcScale)) {
                        return dequantized.forward(ws, xq, res, outputScale);
                    }
                }
                Key key = DnnlConv2d.key("conv2d.int8", spec, x, bias != null, res != null, outputScale);
                Primitive p = primitives.get(key, k -> "int8 conv2d " + spec + " on " + x, s -> DnnlConv2d.describe(s, spec, src.shape(), qStrides,
                        bias != null, res != null, outputScale, dnnl_fpmath_mode_strict, true)).scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, spec.outChannels());
                long[] o = DnnlConv2d.outShape(spec, x);
                Tensor out = Tensor.allocateChannelsLast(ws.allocator(), o[0], o[1], o[2], o[3]);
                return execute(ws, p, q, srcScale, weights, weightScales, bias, res, out);
            }
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            release(primitives, weights, weightScales, bias);
            if (dequantized != null) dequantized.close();
        }
    }

    /**
     * The N-d (volume) counterpart of {@link Int8Conv2d}, for {@link ConvSpec} convolutions (not transposed): input
     * and output stay row-major as {@link DnnlConvNd}'s, the s8 work runs channels-last ({@code ndhwc}) in between. Where the CPU has no 8-bit dot products the same quantized operands run as a float32
     * {@link DnnlConvNd} ({@link DequantizedInt8}), as in 2-D.
     */
    static final class Int8ConvNd implements ConvLayer {
        private final DnnlKernels kernels;
        private final ConvSpec spec;
        private final PackedWeights weights; // null where the layer runs dequantized
        private final NativeBuffer weightScales, bias;
        private final PrimitiveCache primitives = new PrimitiveCache();
        private final float activationScale;  // DYNAMIC_SCALE: max|x| / 127 per call
        private final ConvLayer dequantized;  // the quantized operands in float32 (no 8-bit dot products)
        private boolean closed;

        Int8ConvNd(DnnlKernels kernels, ConvSpec spec, byte[] codes, float[] perOutChannelScale, Tensor bias, float activationScale) {
            this(kernels, spec, codes, perOutChannelScale, bias, activationScale, CpuFeatures.hasInt8DotProduct());
        }

        /** {@code dotProduct} false runs the {@link DequantizedInt8} path whatever the CPU (tests reach it on VNNI machines too). */
        Int8ConvNd(DnnlKernels kernels, ConvSpec spec, byte[] codes, float[] perOutChannelScale, Tensor bias, float activationScale, boolean dotProduct) {
            String layer = "int8 " + spec;
            if (spec.transposed()) throw new IllegalArgumentException(layer + ": transposed int8 convolutions are not supported");
            checkActivationScale(layer, activationScale);
            long[] ws = spec.weightShape();
            if (codes.length != Tensor.numel(ws)) {
                throw new IllegalArgumentException(layer + ": " + codes.length + " weight bytes, expected " + Arrays.toString(ws) + " = " + Tensor.numel(ws));
            }
            checkScales(layer, perOutChannelScale, spec.outChannels());
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != spec.outChannels())) {
                throw new IllegalArgumentException(layer + ": bias " + bias + ", expected [" + spec.outChannels() + "]");
            }
            this.kernels = kernels;
            this.spec = spec;
            this.activationScale = activationScale;
            if (dotProduct) {
                this.dequantized = null;
                this.weights = packed(layer, spec, codes, bias != null);
            } else {
                try (Tensor w = DequantizedInt8.weights(codes, perOutChannelScale, ws)) {
                    this.dequantized = new DnnlConvNd(kernels, spec, w, bias);
                }
                this.weights = null;
            }
            this.weightScales = nativeScales(perOutChannelScale);
            this.bias = bias == null ? null : DnnlConv2d.copyToNative(bias);
        }

        /** Strides of the channels-last layout ({@code n, spatial..., c}) of a {@code [N, C, spatial...]} shape. */
        static long[] channelsLast(long[] shape) {
            long[] st = new long[shape.length];
            st[1] = 1;
            long step = shape[1];
            for (int d = shape.length - 1; d >= 2; d--) {
                st[d] = step;
                step *= shape[d];
            }
            st[0] = step;
            return st;
        }

        /** The s8 codes packed for a nominal 16^d input, keeping the plain codes for the layouts other sizes ask for. */
        private static PackedWeights packed(String layer, ConvSpec spec, byte[] codes, boolean hasBias) {
            long[] nominal = new long[2 + spec.spatialDims()];
            Arrays.fill(nominal, 16);
            nominal[0] = 1;
            nominal[1] = spec.inChannels();
            long[] out = spec.outShape(nominal);
            dnnl_primitive_desc pd;
            try (Dnnl.Scope s = new Dnnl.Scope()) {
                pd = DnnlConvNd.describe(s, spec, s.md(nominal, channelsLast(nominal), dnnl_s8), hasBias, out, Tensor.rowMajorStrides(out),
                        dnnl_fpmath_mode_strict, true);
            }
            try (Dnnl.Scope s = new Dnnl.Scope(); BytePointer plain = new BytePointer(codes)) {
                long[] w = spec.weightShape(), dims = w;
                long g = spec.groups();
                if (g != 1) {
                    dims = new long[w.length + 1];
                    dims[0] = g;
                    dims[1] = w[0] / g;
                    System.arraycopy(w, 1, dims, 2, w.length - 1);
                }
                return PackedWeights.keepingPlain(layer, s.md(dims, Tensor.rowMajorStrides(dims), dnnl_s8), plain.address(),
                        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
            } finally {
                dnnl_primitive_desc_destroy(pd);
            }
        }

        @Override
        public ConvSpec spec() {
            return spec;
        }

        @Override
        public Tensor forward(Workspace workspace, Tensor x) {
            if (closed) throw new IllegalStateException("int8 " + spec + " used after close");
            DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
            long[] inShape = x.shape(), outShape = spec.outShape(inShape), inCl = channelsLast(inShape), outCl = channelsLast(outShape);
            // oneDNN's jit s8 kernels (the quantizing binary, the convolution) take channels-last only: row-major runs
            // their reference implementations, ~100x slower; so the volume is reordered in and out around them
            try (Tensor xin = kernels.contiguousOrNull(ws, x); Tensor xStore = Tensor.allocate(ws.allocator(), x.numel());
                 Tensor q = Tensor.allocate(ws.allocator(), (x.numel() + 3) / 4)) {
                Tensor src = xin != null ? xin : x;
                float srcScale = activationScale == DYNAMIC_SCALE ? kernels.quantizer().scale(ws, src) : activationScale;
                Tensor xcl = kernels.reorderInto(ws, src, xStore.view(inShape, inCl, 0));
                kernels.quantizer().quantize(ws, xcl, srcScale, q.address(), inCl);
                if (dequantized != null) {
                    try (Tensor xq = DequantizedInt8.activations(ws.allocator(), q.address(), inShape, inCl, srcScale)) {
                        return dequantized.forward(ws, xq);
                    }
                }
                Key key = Key.of("convNd.int8").add(inShape).build();
                Primitive p = primitives.get(key, k -> "int8 " + spec + " on " + x, s -> DnnlConvNd.describe(s, spec, s.md(inShape, inCl, dnnl_s8),
                        bias != null, outShape, outCl, dnnl_fpmath_mode_strict, true)).scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, spec.outChannels());
                try (Tensor yStore = Tensor.allocate(ws.allocator(), Tensor.numel(outShape))) {
                    Tensor ycl = execute(ws, p, q, srcScale, weights, weightScales, bias, null, yStore.view(outShape, outCl, 0));
                    Tensor out = DnnlKernels.allocateDense(ws, outShape);
                    try {
                        return kernels.reorderInto(ws, ycl, out);
                    } catch (RuntimeException e) {
                        out.close();
                        throw e;
                    }
                }
            }
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            release(primitives, weights, weightScales, bias);
            if (dequantized != null) dequantized.close();
        }
    }

    static final class Int8Linear implements Linear {
        private final DnnlKernels kernels;
        private final int in, out;
        private final PackedWeights weights; // null where the CPU has no 8-bit dot products (see dequantized)
        private final NativeBuffer weightScales, bias;
        private final PrimitiveCache primitives = new PrimitiveCache();
        private final float activationScale; // DYNAMIC_SCALE: max|x| / 127 per call
        private final Linear dequantized;    // no 8-bit dot products on this CPU: the quantized operands in float32
        private boolean closed;

        Int8Linear(DnnlKernels kernels, byte[] weightsOutIn, int out, int in, float[] perOutChannelScale, Tensor bias, float activationScale) {
            String layer = "int8 linear [" + out + ", " + in + "]";
            checkActivationScale(layer, activationScale);
            this.activationScale = activationScale;
            if (out <= 0 || in <= 0 || weightsOutIn.length != (long) out * in) {
                throw new IllegalArgumentException(layer + ": " + weightsOutIn.length + " weight bytes, expected " + (long) out * in);
            }
            checkScales(layer, perOutChannelScale, out);
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) throw new IllegalArgumentException(layer + ": bias " + bias + ", expected [" + out + "]");
            this.kernels = kernels;
            this.in = in;
            this.out = out;
            if (CpuFeatures.hasInt8DotProduct()) {
                this.dequantized = null;
                this.weights = packed(layer, weightsOutIn, out, in, bias != null);
            } else {
                try (Tensor w = DequantizedInt8.weights(weightsOutIn, perOutChannelScale, new long[]{out, in})) {
                    this.dequantized = new DnnlLinear(kernels, w, bias);
                }
                this.weights = null;
            }
            this.weightScales = nativeScales(perOutChannelScale);
            this.bias = bias == null ? null : DnnlConv2d.copyToNative(bias);
        }

        /** The s8 codes packed for 1024 rows, keeping the plain codes for the layouts other row counts ask for. */
        private static PackedWeights packed(String layer, byte[] weightsOutIn, int out, int in, boolean hasBias) {
            dnnl_primitive_desc pd;
            try (Dnnl.Scope s = new Dnnl.Scope()) {
                pd = DnnlLinear.describe(s, 1024, in, in, 1, out, null, hasBias, false, 1f, dnnl_fpmath_mode_strict, true);
            }
            try (Dnnl.Scope s = new Dnnl.Scope(); BytePointer plain = new BytePointer(weightsOutIn)) {
                return PackedWeights.keepingPlain(layer, s.md(new long[]{in, out}, new long[]{1, in}, dnnl_s8), plain.address(),
                        dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
            } finally {
                dnnl_primitive_desc_destroy(pd);
            }
        }

        /**
         * The matmul for {@code m} rows, asked first to take the weights in their packed layout: oneDNN picks other
         * s8 layouts for other row counts (e.g. 2 rows of a time-embedding projection), and each other layout costs
         * another packed copy (reordered from the plain codes).
         */
        private dnnl_primitive_desc describe(Dnnl.Scope s, long m, boolean residual, float outputScale) {
            try {
                return DnnlLinear.describe(s, m, in, in, 1, out, weights.firstLayout(), bias != null, residual, outputScale, dnnl_fpmath_mode_strict, true);
            } catch (DnnlException e) {
                return DnnlLinear.describe(s, m, in, in, 1, out, null, bias != null, residual, outputScale, dnnl_fpmath_mode_strict, true);
            }
        }

        @Override
        public int inFeatures() {
            return in;
        }

        @Override
        public int outFeatures() {
            return out;
        }

        @Override
        public Tensor forward(Workspace workspace, Tensor x, Tensor residual, float outputScale) {
            DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
            DnnlLinear.checkInput(x, in, out, residual);
            try (Tensor xin = kernels.contiguousOrNull(ws, x); Tensor rin = kernels.contiguousOrNull(ws, residual);
                 Tensor q = Tensor.allocate(ws.allocator(), (x.numel() + 3) / 4)) {
                Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual;
                long m = x.numel() / in;
                Tensor rows = src.view(new long[]{m, in}, new long[]{in, 1}, src.offset());
                float srcScale = activationScale == DYNAMIC_SCALE ? kernels.quantizer().scale(ws, rows) : activationScale;
                kernels.quantizer().quantize(ws, rows, srcScale, q.address(), new long[]{in, 1});
                if (dequantized != null) {
                    try (Tensor xq = DequantizedInt8.activations(ws.allocator(), q.address(), x.shape(), Tensor.rowMajorStrides(x.shape()), srcScale)) {
                        return dequantized.forward(ws, xq, res, outputScale);
                    }
                }
                Key key = Key.of("linear.int8").add(m).add(res != null).add(outputScale).build();
                Primitive p = primitives.get(key, k -> "int8 linear [" + out + ", " + in + "] on " + x, s -> describe(s, m, res != null, outputScale))
                        .scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, out);
                Tensor y = Tensor.allocate(ws.allocator(), DnnlLinear.outShape(x, out));
                return execute(ws, p, q, srcScale, weights, weightScales, bias, res, y);
            }
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            release(primitives, weights, weightScales, bias);
            if (dequantized != null) dequantized.close();
        }
    }
}
