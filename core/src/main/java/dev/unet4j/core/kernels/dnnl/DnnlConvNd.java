package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.ConvLayer;
import dev.unet4j.core.kernels.ConvSpec;
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
 * An N-d convolution or transposed convolution on oneDNN's convolution / deconvolution primitives: weights kept in
 * torch's plain layout and reordered once into whatever blocked layout each primitive asks for ({@link PackedWeights}),
 * one primitive per input shape. Maps run channels-last for 2-D (as {@link DnnlConv2d}) and row-major for volumes.
 */
final class DnnlConvNd implements ConvLayer {
    private final DnnlKernels kernels;
    private final ConvSpec spec;
    private final PackedWeights weights;
    private final NativeBuffer bias;
    private final PrimitiveCache primitives = new PrimitiveCache();
    private boolean closed;

    DnnlConvNd(DnnlKernels kernels, ConvSpec spec, Tensor weight, Tensor bias) {
        if (!Arrays.equals(weight.shape(), spec.weightShape())) {
            throw new IllegalArgumentException("conv " + spec + ": weight " + weight + ", expected shape " + Arrays.toString(spec.weightShape()));
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != spec.outChannels())) {
            throw new IllegalArgumentException("conv " + spec + ": bias " + bias + ", expected [" + spec.outChannels() + "]");
        }
        this.kernels = kernels;
        this.spec = spec;
        try (Tensor plain = weight.isContiguous() ? null : weight.copy(Allocator.direct()); Dnnl.Scope s = new Dnnl.Scope()) {
            Tensor w = plain != null ? plain : weight;
            dnnl_memory_desc md = plainWeightsMd(s, spec, w);
            this.weights = new PackedWeights(spec.toString(), md, w.address(), md);
        }
        this.bias = bias == null ? null : DnnlConv2d.copyToNative(bias);
    }

    /**
     * torch's weights as oneDNN's logical {@code [(g,) out/g, in/g, k...]}: a convolution stores {@code [out, in/g, k...]},
     * a transposed one {@code [in, out/g, k...]}, which is the same tensor with the first two axes swapped per group.
     */
    static dnnl_memory_desc plainWeightsMd(Dnnl.Scope s, ConvSpec spec, Tensor w) {
        long[] st = w.strides();
        int r = spec.spatialDims();
        long g = spec.groups(), og = spec.outChannels() / g, ig = spec.inChannels() / g;
        long[] dims = new long[(g == 1 ? 2 : 3) + r], strides = new long[dims.length];
        int o = g == 1 ? 0 : 1;
        if (g != 1) {
            dims[0] = g;
            strides[0] = spec.transposed() ? ig * st[0] : og * st[0];
        }
        dims[o] = og;
        dims[o + 1] = ig;
        strides[o] = spec.transposed() ? st[1] : st[0];
        strides[o + 1] = spec.transposed() ? st[0] : st[1];
        for (int i = 0; i < r; i++) {
            dims[o + 2 + i] = spec.kernel()[i];
            strides[o + 2 + i] = st[2 + i];
        }
        return s.md(dims, strides);
    }

    @Override
    public ConvSpec spec() {
        return spec;
    }

    @Override
    public Tensor forward(Workspace workspace, Tensor x) {
        if (closed) throw new IllegalStateException("conv " + spec + " used after close");
        DnnlWorkspace ws = DnnlKernels.dnnl(workspace);
        long[] outShape = spec.outShape(x.shape());
        try (Tensor copy = x.rank() == 4 ? kernels.channelsLastOrNull(ws, x) : kernels.contiguousOrNull(ws, x)) {
            Tensor src = copy != null ? copy : x;
            long[] outStrides = outShape.length == 4 ? Dnnl.channelsLastStrides(outShape) : Tensor.rowMajorStrides(outShape);
            Key key = Key.of(spec.transposed() ? "deconvNd" : "convNd").add(src).add(outStrides).build();
            Primitive p = primitives.get(key, k -> spec + " on " + src, s -> describe(s, src, outShape, outStrides));
            Tensor out = DnnlKernels.allocateDense(ws, outShape);
            ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_WEIGHTS, weights.address(p.argMd(DNNL_ARG_WEIGHTS)))
                    .add(DNNL_ARG_DST, out.address());
            if (bias != null) args.add(DNNL_ARG_BIAS, bias.address(0));
            return DnnlPointwise.run(ws, p, out, args.toArray());
        }
    }

    private dnnl_primitive_desc describe(Dnnl.Scope s, Tensor src, long[] dstShape, long[] dstStrides) {
        return describe(s, spec, s.md(src), bias != null, dstShape, dstStrides, kernels.fpmathMode(), false);
    }

    /**
     * The (de)convolution of {@code spec} from {@code srcMd} into f32 {@code dstShape} laid out as {@code dstStrides},
     * weights in the layout oneDNN prefers. With {@code int8} (not transposed) source and weights are s8 with runtime
     * scales, per-tensor for the source and per output channel for the weights, as the 2-D int8 convolution's.
     */
    static dnnl_primitive_desc describe(Dnnl.Scope s, ConvSpec spec, dnnl_memory_desc srcMd, boolean hasBias, long[] dstShape, long[] dstStrides,
                                        int fpmath, boolean int8) {
        int r = spec.spatialDims();
        long g = spec.groups();
        long[] wDims = new long[(g == 1 ? 2 : 3) + r];
        int o = g == 1 ? 0 : 1;
        if (g != 1) wDims[0] = g;
        wDims[o] = spec.outChannels() / g;
        wDims[o + 1] = spec.inChannels() / g;
        long[] strides = new long[r], dil = new long[r], pad = new long[r];
        for (int i = 0; i < r; i++) {
            wDims[o + 2 + i] = spec.kernel()[i];
            strides[i] = spec.stride()[i];
            pad[i] = spec.padding()[i];
        }
        dnnl_memory_desc wMd = int8 ? s.tag(wDims, dnnl_format_tag_any, dnnl_s8) : s.tag(wDims, dnnl_format_tag_any);
        dnnl_memory_desc bMd = hasBias ? s.tag(new long[]{spec.outChannels()}, dnnl_a) : null;
        dnnl_memory_desc dstMd = s.md(dstShape, Dnnl.canonicalStrides(dstShape, dstStrides));
        dnnl_primitive_attr attr = s.attr(fpmath);
        if (int8) {
            if (spec.transposed()) throw new IllegalArgumentException("int8 " + spec + ": transposed int8 convolutions are not supported");
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_SRC, 0), "set_scales_mask(src)");
            check(dnnl_primitive_attr_set_scales_mask(attr, DNNL_ARG_WEIGHTS, g == 1 ? 1 : 3), "set_scales_mask(weights, per output channel)");
        }
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        if (spec.transposed()) {
            check(dnnl_deconvolution_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_deconvolution_direct,
                    srcMd, wMd, bMd, dstMd, strides, dil, pad, pad, attr), "deconvolution_forward_primitive_desc_create(" + spec + ")");
        } else {
            check(dnnl_convolution_forward_primitive_desc_create(pd, engine(), dnnl_forward_inference, dnnl_convolution_direct,
                    srcMd, wMd, bMd, dstMd, strides, dil, pad, pad, attr), "convolution_forward_primitive_desc_create(" + spec + ")");
        }
        return pd;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        primitives.close();
        weights.close();
        if (bias != null) Allocator.direct().release(bias);
    }
}
