package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_post_ops;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import java.nio.ByteBuffer;
import java.util.stream.IntStream;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * W8A32 layers on oneDNN: the 8-bit codes (s8, or OCP FP8 as oneDNN's {@code f8_e4m3}/{@code f8_e5m2}) live in
 * native memory, in OHWI order (each output channel's {@code KH*KW*IC} codes contiguous, tap-major), so the same bytes are a linear's or 1x1 convolution's matmul weights
 * and an im2col convolution's {@code [KH*KW*IC, OC]} weights (both read as the transposed {@code ba} layout). Per
 * call, no float32 weight is kept:
 * <ul>
 *   <li>matmul shapes (linears, 1x1 convolutions, and kxk convolutions over at most as many output pixels as output
 *       channels, where the im2col gather is smaller than a decoded weight) run oneDNN's matmul with weight
 *       decompression: its brgemm kernel converts the s8 codes and applies the per-column scales while it packs
 *       them, so the float32 weight is never materialised;</li>
 *   <li>other convolutions reorder the codes once into the float32 convolution's blocked layout with the scales
 *       applied in the same jit pass (workspace scratch), then run the float32 convolution.</li>
 * </ul>
 * FP8 codes take the same routes, the matmul one through f16: oneDNN 3.11 has no CPU matmul with f8 weights and f32
 * source ("unimplemented"), but it has a jit f32 x f16 decompressing matmul, and every E4M3/E5M2 value is an f16
 * value, so the codes are first widened exactly to f16 scratch by one unscaled reorder (a plain copy kernel; the
 * scaled f8 -> f32 reorder into a blocked layout is several times slower, so only convolutions pay it). oneDNN's f8
 * conversions are exact for every code as OCP FP8 defines it (all 256 codes of both formats are tested against
 * {@link dev.unet4j.core.codes.Fp8Format} on every route; NaN codes come out as NaN, E5M2 infinities as infinities).
 * Weight decompression needs strict float32 math and a jit implementation (AVX-512 here); under bf16 compute, or
 * where oneDNN would fall back to its reference matmul, every layer takes the reorder route (linears reorder into
 * the float32 matmul's preferred weight layout).
 */
final class DnnlCodedWeightLayers {
    /** Codes from which a double-rounding remap is split across the common pool. */
    private static final int PARALLEL_REMAP = 1 << 20;

    private DnnlCodedWeightLayers() {
    }

    /** Whether oneDNN has a jit (non-reference) decompressing f32 x s8 matmul on this CPU; if not, every s8 layer decodes. */
    static boolean hasDecompression() {
        return Decompression.S8;
    }

    /** The same for f32 x f16 weights (FP8 codes widened to f16); if not, every FP8 layer decodes. */
    static boolean hasF16Decompression() {
        return Decompression.F16;
    }

    private static final class Decompression {
        static final boolean S8 = probe(dnnl_s8), F16 = probe(dnnl_f16);

        private static boolean probe(int weightType) {
            try (Primitive p = PrimitiveCache.create("probe of f32 x " + weightType + " weight decompression",
                    s -> describeMatmul(s, 16, 64, 64, 64, false, false, 1f, weightType))) {
                return !p.implementation().startsWith("ref");
            } catch (DnnlException e) {
                return false;
            }
        }
    }

    /** The native codes and scales of one layer. */
    private abstract static class Codes implements CodedWeightLayer {
        final DnnlKernels kernels;
        final WeightFormat format;
        final String layer;
        final long count;
        final int channels;
        private final NativeBuffer codes, scales;
        private boolean closed;

        /** {@code ohwiCodes} are already in storage order. */
        Codes(DnnlKernels kernels, WeightFormat format, String layer, long[] shape, byte[] rowMajorCodes, byte[] ohwiCodes, float[] scales) {
            CodedWeightLayer.checkWeight(layer, shape, rowMajorCodes, scales);
            this.kernels = kernels;
            this.format = format;
            this.layer = layer;
            this.count = ohwiCodes.length;
            this.channels = scales.length;
            this.codes = Allocator.direct().acquire((count + 3) / 4);
            this.scales = Allocator.direct().acquire(channels);
            bytes(codes.address(0), count).put(ohwiCodes);
            this.scales.floatBuffer(0, channels).put(scales);
        }

        @Override
        public WeightFormat format() {
            return format;
        }

        /** oneDNN's data type of the codes. */
        int dataType() {
            return switch (format) {
                case INT8 -> dnnl_s8;
                case FP8_E4M3 -> dnnl_f8_e4m3;
                case FP8_E5M2 -> dnnl_f8_e5m2;
            };
        }

        /** Whether calls may run as a decompressing matmul: strict float32 math and a jit kernel for the weight type. */
        boolean decompresses() {
            if (kernels.fpmathMode() != dnnl_fpmath_mode_strict) return false;
            return format == WeightFormat.INT8 ? hasDecompression() : hasF16Decompression();
        }

        /** The weight type the decompressing matmul reads: the s8 codes themselves, or FP8 codes widened to f16. */
        int matmulWeightType() {
            return format == WeightFormat.INT8 ? dnnl_s8 : dnnl_f16;
        }

        /**
         * Null for s8 codes; for FP8, the codes at {@code codes} widened to f16 in workspace scratch by one unscaled
         * jit reorder (a plain copy kernel, several times faster than the scaled f8 -> f32 reorder into a blocked
         * layout). Every E4M3 and E5M2 value is an f16 value, so this is exact.
         */
        Tensor widened(DnnlWorkspace ws, long codes) {
            if (format == WeightFormat.INT8) return null;
            Key key = Key.of("codedw.widen." + format).add(count).build();
            Primitive widen = kernels.cache().get(key, k -> "widen " + format + " codes of " + layer + " to f16", s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_reorder_primitive_desc_create(pd, s.tag(new long[]{count}, dnnl_a, dataType()), engine(),
                        s.tag(new long[]{count}, dnnl_a, dnnl_f16), engine(), s.attr()), "reorder_primitive_desc_create(widen " + layer + ")");
                return pd;
            });
            Tensor t = scratch(ws, 2 * count);
            try {
                widen.execute(ws, DNNL_ARG_SRC, codes, DNNL_ARG_DST, t.address());
                return t;
            } catch (RuntimeException e) {
                t.close();
                throw e;
            }
        }

        static ByteBuffer bytes(long address, long n) {
            return NativeBuffer.floatsAt(address, (n + 3) / 4).asByteBuffer().limit(Math.toIntExact(n));
        }

        long codesAddress() {
            if (closed) throw new IllegalStateException(layer + " used after close");
            return codes.address(0);
        }

        long scalesAddress() {
            return scales.address(0);
        }

        /** The stored codes in storage (OHWI) order. */
        byte[] storedCodes() {
            byte[] out = new byte[Math.toIntExact(count)];
            bytes(codesAddress(), count).get(out);
            return out;
        }

        /**
         * Null without {@code remap}; else workspace scratch holding {@code remap[code & 0xFF]} for every code. A table
         * that is a power-of-two requantization ({@link RoundingShift}, what double rounding uses) runs as one jit
         * binary over the codes; any other table through a Java loop.
         */
        Tensor remapped(DnnlWorkspace ws, byte[] remap) {
            CodedWeightLayer.checkRemap(layer, remap);
            if (remap == null) return null;
            Tensor t = Tensor.allocate(ws.allocator(), Math.max(1, (count + 3) / 4));
            try {
                RoundingShift shift = format == WeightFormat.INT8 ? RoundingShift.of(remap) : null;
                if (shift != null) shift.apply(kernels, ws, codesAddress(), t.address(), count);
                else remapInJava(remap, codesAddress(), t.address());
                return t;
            } catch (RuntimeException e) {
                t.close();
                throw e;
            }
        }

        private void remapInJava(byte[] remap, long src, long dst) {
            int chunk = 1 << 16;
            int chunks = (int) ((count + chunk - 1) / chunk);
            IntStream range = IntStream.range(0, chunks);
            (count >= PARALLEL_REMAP ? range.parallel() : range).forEach(c -> {
                long from = (long) c * chunk;
                int n = (int) Math.min(chunk, count - from);
                byte[] b = new byte[n];
                bytes(src + from, n).get(b);
                for (int i = 0; i < n; i++) b[i] = remap[b[i] & 0xFF];
                bytes(dst + from, n).put(b);
            });
        }

        @Override
        public float[] scales() {
            float[] out = new float[channels];
            scales.floatBuffer(0, channels).get(out);
            return out;
        }

        @Override
        public long residentBytes() {
            return count + 4L * channels;
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            Allocator.direct().release(codes);
            Allocator.direct().release(scales);
        }
    }

    /**
     * The decompressing matmul {@code [m, k] (row stride srcRowStride) x weightType [k, n] -> f32 [m, n]}: the
     * weights are {@code [n, k]} row-major read transposed (s8 codes, or f16 widened FP8 codes), scaled per column,
     * plus bias and fused epilogue.
     */
    static dnnl_primitive_desc describeMatmul(Dnnl.Scope s, long m, long k, long srcRowStride, long n, boolean hasBias, boolean residual, float scale,
                                              int weightType) {
        dnnl_memory_desc srcMd = s.md(new long[]{m, k}, new long[]{srcRowStride, 1});
        dnnl_memory_desc wMd = s.md(new long[]{k, n}, new long[]{1, k}, weightType);
        dnnl_memory_desc bMd = hasBias ? s.tag(new long[]{1, n}, dnnl_ab) : null;
        dnnl_memory_desc dstMd = s.tag(new long[]{m, n}, dnnl_ab);
        dnnl_primitive_attr attr = s.attr();
        check(dnnl_primitive_attr_set_fpmath_mode_v2(attr, dnnl_fpmath_mode_strict, 1), "set_fpmath_mode_v2(strict, apply to int weights)");
        check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, 1 << 1), "set_scales_mask(weights, per column)");
        s.residualAndScale(attr, residual ? dstMd : null, scale);
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_matmul_primitive_desc_create(pd, engine(), srcMd, wMd, bMd, dstMd, attr),
                "matmul_primitive_desc_create(f32 [" + m + ", " + k + "] x " + (weightType == dnnl_s8 ? "s8" : "f16") + " [" + k + ", " + n + "])");
        return pd;
    }

    /** Runs a {@link #describeMatmul} primitive on {@code src} rows into {@code out} (returned; closed on failure). */
    static Tensor runMatmul(DnnlWorkspace ws, Primitive p, long src, long codes, long scales, Tensor bias, Tensor res, Tensor out) {
        ArgList args = new ArgList().add(DNNL_ARG_SRC, src).add(DNNL_ARG_WEIGHTS, codes).add(DNNL_ARG_DST, out.address())
                .add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, scales);
        if (bias != null) args.add(DNNL_ARG_BIAS, bias.address());
        if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
        return DnnlPointwise.run(ws, p, out, args.toArray());
    }

    /** A reorder of 8-bit codes laid out as {@code codesMd} into {@code wantedMd} float32, scaled over {@code mask}'s dimensions. */
    static dnnl_primitive_desc describeDecode(Dnnl.Scope s, dnnl_memory_desc codesMd, dnnl_memory_desc wantedMd, int mask, String what) {
        dnnl_primitive_attr attr = s.attr();
        check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC, mask), "set_scales_mask(src, per output channel)");
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_reorder_primitive_desc_create(pd, codesMd, engine(), wantedMd, engine(), attr), "reorder_primitive_desc_create(" + what + ")");
        return pd;
    }

    /**
     * A code table of the form {@code q -> clamp(rne(q / 2^shift), -max, max) * 2^shift} over signed codes (round half
     * to even on the exact quotient): double rounding's derived widths. oneDNN runs it as one binary over the s8
     * codes, {@code q * 2^-shift} (exact in float32) with post-ops round (half to even), clip and
     * {@code * 2^shift} into s8, where a Java table lookup over SD 1.5's 860M codes took a third of a step.
     */
    record RoundingShift(int shift, int max) {
        /** The shift and clamp {@code table} is, or null for any other table. */
        static RoundingShift of(byte[] table) {
            for (int shift = 1; shift <= 7; shift++) {
                int top = table[127];
                if (top <= 0 || top % (1 << shift) != 0) continue;
                RoundingShift r = new RoundingShift(shift, top >> shift);
                boolean all = true;
                for (int code = -128; code <= 127 && all; code++) all = table[code & 0xFF] == r.map(code);
                if (all) return r;
            }
            return null;
        }

        /** The table entry for signed code {@code q}, in integer arithmetic. */
        int map(int q) {
            int floor = q >> shift, rem = q - (floor << shift), half = 1 << (shift - 1);
            int r = floor + ((rem > half || (rem == half && (floor & 1) != 0)) ? 1 : 0);
            return Math.max(-max, Math.min(max, r)) << shift;
        }

        void apply(DnnlKernels kernels, DnnlWorkspace ws, long src, long dst, long count) {
            long[] dims = {1, count}, one = {1, 1};
            Key key = Key.of("codes.roundingShift").add(shift).add(max).add(count).build();
            Primitive p = kernels.cache().get(key, k -> "rounding shift " + this + " of " + count + " codes", s -> {
                dnnl_primitive_attr attr = s.attr();
                dnnl_post_ops po = s.postOps();
                check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_round, 0f, 0f), "post_ops_append_eltwise(round)");
                check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_clip, -max, max), "post_ops_append_eltwise(clip)");
                check(dnnl_post_ops_append_eltwise(po, dnnl_eltwise_linear, 1 << shift, 0f), "post_ops_append_eltwise(linear)");
                check(dnnl_primitive_attr_set_post_ops(attr, po), "primitive_attr_set_post_ops");
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_binary_primitive_desc_create(pd, engine(), dnnl_binary_mul, s.tag(dims, dnnl_ab, dnnl_s8), s.tag(one, dnnl_ab),
                        s.tag(dims, dnnl_ab, dnnl_s8), attr), "binary_primitive_desc_create(rounding shift " + this + ")");
                return pd;
            });
            p.execute(ws, DNNL_ARG_SRC_0, src, DNNL_ARG_SRC_1, ws.scalar(SLOT_INVERSE_STEP, 1f / (1 << shift)), DNNL_ARG_DST, dst);
        }
    }

    private static final int SLOT_INVERSE_STEP = 7;

    /** Workspace scratch of at least {@code bytes}, rounded up to a power of two so the session pool keeps few size classes. */
    static Tensor scratch(DnnlWorkspace ws, long bytes) {
        long floats = Math.max(1, (bytes + 3) / 4);
        return Tensor.allocate(ws.allocator(), floats == 1 ? 1 : Long.highestOneBit(floats - 1) << 1);
    }

    static final class Conv extends Codes {
        private final Conv2dSpec spec;

        Conv(DnnlKernels kernels, Conv2dSpec spec, WeightFormat format, byte[] oihwCodes, float[] scales) {
            super(kernels, format, format.label() + " conv2d " + spec, spec.weightShape(), oihwCodes, toOhwi(spec, oihwCodes), scales);
            this.spec = spec;
        }

        private static byte[] toOhwi(Conv2dSpec spec, byte[] oihw) {
            return swapTapsAndInputs(spec, oihw, true);
        }

        @Override
        public byte[] codes() {
            return swapTapsAndInputs(spec, storedCodes(), false);
        }

        /** Per output channel, {@code [in, taps]} -> {@code [taps, in]} (OIHW -> OHWI) or back. */
        private static byte[] swapTapsAndInputs(Conv2dSpec spec, byte[] codes, boolean toOhwi) {
            long[] w = spec.weightShape();
            int o = (int) w[0], i = (int) w[1], taps = (int) (w[2] * w[3]);
            if (codes.length != (long) o * i * taps) return codes; // rejected by the constructor's checks
            byte[] out = new byte[codes.length];
            for (int oc = 0; oc < o; oc++) {
                int base = oc * i * taps;
                for (int ic = 0; ic < i; ic++) {
                    for (int t = 0; t < taps; t++) {
                        int oihw = base + ic * taps + t, ohwi = base + t * i + ic;
                        if (toOhwi) out[ohwi] = codes[oihw];
                        else out[oihw] = codes[ohwi];
                    }
                }
            }
            return out;
        }

        /** The codes as oneDNN weights: {@code oihw} (or {@code goihw}) dims over OHWI-ordered bytes. */
        private dnnl_memory_desc codesMd(Dnnl.Scope s) {
            long g = spec.groups(), og = spec.outChannels() / g, ig = spec.inChannels() / g, kh = spec.kernelH(), kw = spec.kernelW();
            long perOut = ig * kh * kw;
            if (g == 1) return s.md(spec.weightShape(), new long[]{perOut, 1, kw * ig, ig}, dataType());
            return s.md(new long[]{g, og, ig, kh, kw}, new long[]{og * perOut, perOut, 1, kw * ig, ig}, dataType());
        }

        /** Whether this call runs as a decompressing matmul: 1x1, or kxk over at most OC output pixels (small gather). */
        private boolean asMatmul(Tensor x) {
            if (spec.groups() != 1 || !decompresses()) return false;
            if (isPointwise()) return true;
            long rows = x.dim(0) * spec.outH(x.dim(2)) * spec.outW(x.dim(3));
            return rows <= Math.min(DnnlIm2colConv.MAX_ROWS, spec.outChannels());
        }

        private boolean isPointwise() {
            return spec.kernelH() == 1 && spec.kernelW() == 1 && spec.strideH() == 1 && spec.strideW() == 1
                    && spec.padTop() + spec.padBottom() + spec.padLeft() + spec.padRight() == 0;
        }

        @Override
        public Tensor forward(Workspace workspace, Tensor x, Tensor bias, Tensor residual, float outputScale, byte[] remap) {
            DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
            DnnlConv2d.checkInput(spec, x, residual);
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != spec.outChannels())) {
                throw new IllegalArgumentException(layer + ": bias " + bias + ", expected [" + spec.outChannels() + "]");
            }
            try (Tensor xin = kernels.channelsLastOrNull(ws, x); Tensor rin = kernels.channelsLastOrNull(ws, residual);
                 Tensor bin = kernels.contiguousOrNull(ws, bias); Tensor mapped = remapped(ws, remap)) {
                Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual, b = bin != null ? bin : bias;
                long codes = mapped != null ? mapped.address() : codesAddress();
                if (!asMatmul(x)) return decoded(ws, x, src, codes, b, res, outputScale);
                try (Tensor wide = widened(ws, codes)) {
                    return matmul(ws, src, wide != null ? wide.address() : codes, b, res, outputScale);
                }
            }
        }

        /** {@code src} dense NHWC: the pixels as rows (1x1) or their im2col gather, times the codes as {@code [K, OC]}. */
        private Tensor matmul(DnnlWorkspace ws, Tensor src, long codes, Tensor b, Tensor res, float outputScale) {
            long n = src.dim(0), oh = spec.outH(src.dim(2)), ow = spec.outW(src.dim(3)), m = n * oh * ow;
            long k = (long) spec.kernelH() * spec.kernelW() * spec.inChannels(), oc = spec.outChannels();
            Key key = Key.of("conv2d.codedw.matmul").add(matmulWeightType()).add(m).add(k).add(oc).add(b != null).add(res != null).add(outputScale).build();
            Primitive p = kernels.cache().get(key, kk -> layer + " as decompressing matmul [" + m + ", " + k + "] x [" + k + ", " + oc + "]",
                    s -> describeMatmul(s, m, k, k, oc, b != null, res != null, outputScale, matmulWeightType())).scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, oc);
            Tensor out = Tensor.allocateChannelsLast(ws.allocator(), n, oc, oh, ow);
            if (isPointwise()) return runMatmul(ws, p, src.address(), codes, scalesAddress(), b, res, out);
            try (Tensor cols = Tensor.allocate(ws.allocator(), m, k)) {
                DnnlIm2colConv.gather(spec, src, cols);
                return runMatmul(ws, p, cols.address(), codes, scalesAddress(), b, res, out);
            } catch (RuntimeException e) {
                out.close();
                throw e;
            }
        }

        /** The codes reordered into the float32 convolution's layout with the scales applied, then that convolution. */
        private Tensor decoded(DnnlWorkspace ws, Tensor x, Tensor src, long codes, Tensor b, Tensor res, float outputScale) {
            Key key = DnnlConv2d.key("conv2d.call", spec, x, b != null, res != null, outputScale);
            Primitive conv = DnnlConv2d.primitive(kernels.cache(), key, spec, src, b != null, res != null, outputScale, kernels.fpmathMode());
            Key decodeKey = DnnlConv2d.key("conv2d.codedw.decode." + format, spec, x, b != null, res != null, outputScale);
            Primitive decode = kernels.cache().get(decodeKey, k -> "decode " + format + " weights of " + layer,
                    s -> describeDecode(s, codesMd(s), conv.argMd(DNNL_ARG_WEIGHTS), spec.groups() == 1 ? 1 : 3, layer))
                    .scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, spec.outChannels());
            try (Tensor packed = scratch(ws, conv.argBytes(DNNL_ARG_WEIGHTS))) {
                decode.execute(ws, DNNL_ARG_SRC, codes, DNNL_ARG_DST, packed.address(), DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, scalesAddress());
                return DnnlConv2d.run(ws, conv, spec, x, src, packed.address(), b == null ? 0 : b.address(), res);
            }
        }
    }

    static final class Linear extends Codes {
        private final int in, out;

        Linear(DnnlKernels kernels, WeightFormat format, byte[] codes, int out, int in, float[] scales) {
            super(kernels, format, format.label() + " linear [" + out + ", " + in + "]", new long[]{out, in}, codes, codes, scales);
            this.in = in;
            this.out = out;
        }

        @Override
        public byte[] codes() {
            return storedCodes();
        }

        @Override
        public Tensor forward(Workspace workspace, Tensor x, Tensor bias, Tensor residual, float outputScale, byte[] remap) {
            DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
            DnnlLinear.checkInput(x, in, out, residual);
            if (bias != null && (bias.rank() != 1 || bias.dim(0) != out)) throw new IllegalArgumentException(layer + ": bias " + bias + ", expected [" + out + "]");
            if (!decompresses()) return decoded(ws, x, bias, residual, outputScale, remap);
            try (Tensor xin = kernels.contiguousOrNull(ws, x); Tensor rin = kernels.contiguousOrNull(ws, residual);
                 Tensor bin = kernels.contiguousOrNull(ws, bias); Tensor mapped = remapped(ws, remap);
                 Tensor wide = widened(ws, mapped != null ? mapped.address() : codesAddress())) {
                Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual, b = bin != null ? bin : bias;
                long m = x.numel() / in, weights = wide != null ? wide.address() : mapped != null ? mapped.address() : codesAddress();
                Key key = Key.of("linear.codedw.matmul").add(matmulWeightType()).add(m).add(in).add(out).add(b != null).add(res != null).add(outputScale).build();
                Primitive p = kernels.cache().get(key, k -> layer + " on " + x,
                                s -> describeMatmul(s, m, in, in, out, b != null, res != null, outputScale, matmulWeightType()))
                        .scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, out);
                Tensor y = Tensor.allocate(ws.allocator(), DnnlLinear.outShape(x, out));
                return runMatmul(ws, p, src.address(), weights, scalesAddress(), b, res, y);
            }
        }

        /**
         * The codes reordered, with the scales applied in the same pass, into the weight layout the float32 matmul
         * prefers (workspace scratch), then that matmul.
         */
        private Tensor decoded(DnnlWorkspace ws, Tensor x, Tensor bias, Tensor residual, float outputScale, byte[] remap) {
            try (Tensor xin = kernels.rowsOrNull(ws, x); Tensor rin = kernels.contiguousOrNull(ws, residual);
                 Tensor bin = kernels.contiguousOrNull(ws, bias); Tensor mapped = remapped(ws, remap)) {
                Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual, b = bin != null ? bin : bias;
                long m = x.numel() / in, rowStride = Dnnl.rowStride(src), colStride = src.stride(-1);
                int fpmath = kernels.fpmathMode();
                Key key = Key.of("linear.codedw").add(m).add(in).add(out).add(rowStride).add(colStride)
                        .add(b != null).add(res != null).add(outputScale).add(fpmath).build();
                Primitive matmul = kernels.cache().get(key, k -> layer + " as float32 matmul on " + x,
                        s -> DnnlLinear.describe(s, m, in, rowStride, colStride, out, null, b != null, res != null, outputScale, fpmath));
                Key decodeKey = Key.of("linear.codedw.decode." + format).add(m).add(in).add(out).add(rowStride).add(colStride)
                        .add(b != null).add(res != null).add(outputScale).add(fpmath).build();
                // the codes [out, in] row-major are the matmul's [in, out] weights read transposed; scales along out (dim 1)
                Primitive decode = kernels.cache().get(decodeKey, k -> "decode " + format + " weights of " + layer,
                        s -> describeDecode(s, s.md(new long[]{in, out}, new long[]{1, in}, dataType()), matmul.argMd(DNNL_ARG_WEIGHTS), 1 << 1, layer))
                        .scaleCount(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, out);
                try (Tensor packed = scratch(ws, matmul.argBytes(DNNL_ARG_WEIGHTS))) {
                    decode.execute(ws, DNNL_ARG_SRC, mapped != null ? mapped.address() : codesAddress(), DNNL_ARG_DST, packed.address(),
                            DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC, scalesAddress());
                    Tensor y = Tensor.allocate(ws.allocator(), DnnlLinear.outShape(x, out));
                    ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_WEIGHTS, packed.address()).add(DNNL_ARG_DST, y.address());
                    if (b != null) args.add(DNNL_ARG_BIAS, b.address());
                    if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
                    return DnnlPointwise.run(ws, matmul, y, args.toArray());
                }
            }
        }
    }
}
