package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.dnnl.dnnl_primitive_desc;

import static dev.unet4j.core.kernels.dnnl.Dnnl.check;
import static dev.unet4j.core.kernels.dnnl.Dnnl.engine;
import static org.bytedeco.dnnl.global.dnnl.*;

/**
 * Convolution and linear with weights supplied per call (decoded from compressed storage just before use). The
 * primitives are cached on the {@link DnnlKernels} instance; the weights never are: a convolution reorders them
 * into a temporary in its preferred layout (cheap next to the convolution), a linear reads {@code [out, in]}
 * directly as transposed matmul weights.
 */
final class DnnlCallTimeWeights {
    private final DnnlKernels kernels;

    DnnlCallTimeWeights(DnnlKernels kernels) {
        this.kernels = kernels;
    }

    Tensor conv2d(DnnlWorkspace ws, Conv2dSpec spec, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        DnnlConv2d.checkWeights(spec, weight, bias);
        DnnlConv2d.checkInput(spec, x, residual);
        try (Tensor xin = kernels.channelsLastOrNull(ws, x); Tensor rin = kernels.channelsLastOrNull(ws, residual);
             Tensor bin = kernels.contiguousOrNull(ws, bias)) {
            Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual, b = bin != null ? bin : bias;
            Key key = DnnlConv2d.key("conv2d.call", spec, x, b != null, res != null, outputScale);
            Primitive conv = DnnlConv2d.primitive(kernels.cache(), key, spec, src, b != null, res != null, outputScale, kernels.fpmathMode());
            Key reorderKey = DnnlConv2d.key("conv2d.call.weights", spec, x, b != null, res != null, outputScale, weight.strides());
            Primitive reorder = kernels.cache().get(reorderKey, k -> "reorder call-time weights of conv2d " + spec, s -> {
                dnnl_primitive_desc pd = new dnnl_primitive_desc();
                check(dnnl_reorder_primitive_desc_create(pd, DnnlConv2d.plainWeightsMd(s, spec, weight), engine(),
                        conv.argMd(DNNL_ARG_WEIGHTS), engine(), s.attr()), "reorder_primitive_desc_create(conv2d weights " + weight + ")");
                return pd;
            });
            try (Tensor packed = Tensor.allocate(ws.allocator(), (conv.argBytes(DNNL_ARG_WEIGHTS) + 3) / 4)) {
                reorder.execute(ws, DNNL_ARG_SRC, weight.address(), DNNL_ARG_DST, packed.address());
                return DnnlConv2d.run(ws, conv, spec, x, src, packed.address(), b == null ? 0 : b.address(), res);
            }
        }
    }

    Tensor linear(DnnlWorkspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale) {
        DnnlLinear.checkWeights(weight, bias);
        long in = weight.dim(1), outF = weight.dim(0);
        DnnlLinear.checkInput(x, in, outF, residual);
        try (Tensor xin = kernels.rowsOrNull(ws, x); Tensor rin = kernels.contiguousOrNull(ws, residual);
             Tensor bin = kernels.contiguousOrNull(ws, bias)) {
            Tensor src = xin != null ? xin : x, res = rin != null ? rin : residual, b = bin != null ? bin : bias;
            long m = x.numel() / Math.max(1, in);
            long rowStride = Dnnl.rowStride(src), colStride = src.stride(-1);
            int fpmath = kernels.fpmathMode();
            Key key = Key.of("linear.call").add(m).add(in).add(outF).add(rowStride).add(colStride).add(weight.strides())
                    .add(b != null).add(res != null).add(outputScale).add(fpmath).build();
            Primitive p = kernels.cache().get(key, k -> "linear " + weight + " on " + x,
                    s -> DnnlLinear.describe(s, m, in, rowStride, colStride, outF, DnnlLinear.transposedMd(s, weight), b != null, res != null, outputScale, fpmath));
            Tensor y = Tensor.allocate(ws.allocator(), DnnlLinear.outShape(x, outF));
            ArgList args = new ArgList().add(DNNL_ARG_SRC, src.address()).add(DNNL_ARG_WEIGHTS, weight.address()).add(DNNL_ARG_DST, y.address());
            if (b != null) args.add(DNNL_ARG_BIAS, b.address());
            if (res != null) args.add(Dnnl.postOpArg(0, DNNL_ARG_SRC_1), res.address());
            return DnnlPointwise.run(ws, p, y, args.toArray());
        }
    }
}
