package dev.unet4j.core.kernels;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

/**
 * The compute seam. {@code DnnlKernels} (oneDNN) is the production backend; {@code ReferenceKernels} is a
 * plain-Java statement of the same math used by tests and as a forced plain path.
 *
 * <p>Conventions for every method:
 * <ul>
 *   <li>Inputs are read through their strides (any layout); results are new tensors owned by the caller, taken
 *       from {@code ws.allocator()}. 4-D results may be channels-last; callers must not assume a layout.</li>
 *   <li>Image tensors are logically NCHW; token tensors {@code [B, T, C]}.</li>
 *   <li>Shapes are checked before any native call; a mismatch throws {@link IllegalArgumentException} naming the
 *       operation and the shapes.</li>
 *   <li>Nothing here keeps state between calls except in prepared layers and in the {@link Workspace}.</li>
 * </ul>
 */
public interface Kernels {

    /** Short backend name for logs and benchmark tables ("onednn", "reference"). */
    String name();

    /** A workspace whose results come from {@code allocator}. */
    Workspace newWorkspace(Allocator allocator);

    // ------------------------------------------------------------ layers with weights (prepared once)

    /**
     * Prepares a convolution. {@code weight} is {@code [out, in/groups, kh, kw]}, {@code bias} {@code [out]} or null.
     * The backend copies what it needs; the caller may close its tensors afterwards.
     */
    Conv2d conv2d(Conv2dSpec spec, Tensor weight, Tensor bias);

    /** Prepares a linear layer. {@code weight} is {@code [out, in]}, {@code bias} {@code [out]} or null. */
    Linear linear(Tensor weight, Tensor bias);

    /**
     * A convolution whose weights arrive with each call (decoded just before the kernel, e.g. from int8 or fp8
     * storage, so no float32 copy is kept). {@code y = (conv(x, weight) + bias + residual) * outputScale};
     * {@code bias}, {@code residual} may be null. Backends cache the primitive, never the weights.
     */
    Tensor conv2d(Workspace ws, Conv2dSpec spec, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale);

    /** {@code y = (x weight^T + bias + residual) * outputScale} with call-time weights {@code [out, in]}; see above. */
    Tensor linear(Workspace ws, Tensor x, Tensor weight, Tensor bias, Tensor residual, float outputScale);

    /**
     * Prepares a W8A32 convolution from int8 {@code codes} ({@code spec.weightShape()}, row-major) and one scale per
     * output channel: {@link #codedWeightConv2d} with {@link WeightFormat#INT8}.
     */
    default CodedWeightLayer int8WeightConv2d(Conv2dSpec spec, byte[] codes, float[] scales) {
        return codedWeightConv2d(spec, WeightFormat.INT8, codes, scales);
    }

    /** The linear counterpart of {@link #int8WeightConv2d}: {@code codes} {@code [out, in]} row-major. */
    default CodedWeightLayer int8WeightLinear(byte[] codes, int out, int in, float[] scales) {
        return codedWeightLinear(WeightFormat.INT8, codes, out, in, scales);
    }

    /**
     * Prepares a W8A32 convolution from 8-bit {@code codes} of the given {@code format} ({@code spec.weightShape()},
     * row-major) and one scale per output channel: {@code w = format.value(code) * scale[o]}. The default keeps the
     * codes on the Java heap and decodes them exactly per call for
     * {@link #conv2d(Workspace, Conv2dSpec, Tensor, Tensor, Tensor, Tensor, float)}; backends may keep them natively.
     */
    default CodedWeightLayer codedWeightConv2d(Conv2dSpec spec, WeightFormat format, byte[] codes, float[] scales) {
        return new DecodingCodedWeightLayer(format.label() + " conv2d " + spec, format, spec.weightShape(), codes, scales,
                (ws, x, w, b, r, s) -> conv2d(ws, spec, x, w, b, r, s));
    }

    /**
     * The N-d counterpart of {@link #codedWeightConv2d} for {@link ConvSpec} convolutions (volumes): {@code codes}
     * {@code spec.weightShape()} row-major. Each call decodes the codes ({@code value(code) * scale}) into a workspace
     * tensor and runs this backend's {@link #conv(ConvSpec, Tensor, Tensor)} on it, the residual and output scale
     * applied after; no float32 weight is kept between calls.
     */
    default CodedWeightLayer codedWeightConv(ConvSpec spec, WeightFormat format, byte[] codes, float[] scales) {
        return new DecodingCodedWeightLayer(format.label() + " " + spec, format, spec.weightShape(), codes, scales, (ws, x, w, b, r, s) -> {
            Tensor y;
            try (ConvLayer layer = conv(spec, w, b)) {
                y = layer.forward(ws, x);
            }
            if (r == null && s == 1f) return y;
            try (y) {
                return r == null ? scale(ws, y, s) : add(ws, y, r, s, s);
            }
        });
    }

    /** The linear counterpart of {@link #codedWeightConv2d}: {@code codes} {@code [out, in]} row-major. */
    default CodedWeightLayer codedWeightLinear(WeightFormat format, byte[] codes, int out, int in, float[] scales) {
        return new DecodingCodedWeightLayer(format.label() + " linear [" + out + ", " + in + "]", format, new long[]{out, in}, codes, scales, this::linear);
    }

    /**
     * Prepares an N-d convolution or transposed convolution (2-D or 3-D, {@link ConvSpec}); {@code weight} is
     * {@link ConvSpec#weightShape()}, {@code bias} {@code [out]} or null. The backend copies what it needs.
     */
    ConvLayer conv(ConvSpec spec, Tensor weight, Tensor bias);

    // ------------------------------------------------------------ normalisation and activations

    /**
     * GroupNorm over {@code [N, C, ...]} (torch semantics, biased variance), then optionally SiLU.
     * {@code gamma}/{@code beta} are {@code [C]} or null (no affine).
     */
    Tensor groupNorm(Workspace ws, Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu);

    /** LayerNorm over the last dimension; {@code gamma}/{@code beta} {@code [C]} or null. */
    Tensor layerNorm(Workspace ws, Tensor x, Tensor gamma, Tensor beta, float eps);

    /** {@code x * sigmoid(x)}. */
    Tensor silu(Workspace ws, Tensor x);

    /**
     * Swish with a fixed {@code beta} (Ramachandran et al., 2017): {@code x * sigmoid(beta * x)}; beta 1 is SiLU, 1.702
     * CLIP's {@code quick_gelu}. The default computes {@code silu(beta * x) / beta} in three passes; backends fuse it.
     */
    default Tensor swish(Workspace ws, Tensor x, float beta) {
        if (beta == 1f) return silu(ws, x);
        if (!(beta != 0f && Float.isFinite(beta))) throw new IllegalArgumentException("swish: beta " + beta + " must be finite and nonzero");
        try (Tensor bx = scale(ws, x, beta); Tensor s = silu(ws, bx)) {
            return scale(ws, s, 1f / beta);
        }
    }

    /** GELU: exact {@code 0.5 x (1 + erf(x / sqrt 2))}, or torch's tanh approximation when {@code exact} is false. */
    Tensor gelu(Workspace ws, Tensor x, boolean exact);

    /**
     * diffusers' GEGLU after its projection: the last dimension {@code 2D} is split as {@code (h, gate)}, value half
     * first, and the result {@code h * gelu_exact(gate)} has last dimension {@code D}.
     */
    Tensor geglu(Workspace ws, Tensor x);

    /** Softmax over the last dimension. */
    Tensor softmax(Workspace ws, Tensor x);

    /**
     * Inference BatchNorm over {@code [N, C, ...]} from running statistics (torch's eval mode):
     * {@code (x - mean) / sqrt(var + eps) * gamma + beta}, all four {@code [C]}; {@code gamma}/{@code beta} may be null.
     */
    Tensor batchNorm(Workspace ws, Tensor x, Tensor mean, Tensor variance, Tensor gamma, Tensor beta, float eps);

    /** {@code max(x, 0) + negativeSlope * min(x, 0)}: ReLU for a slope of 0, else LeakyReLU. */
    Tensor leakyRelu(Workspace ws, Tensor x, float negativeSlope);

    /** {@code min(max(x, lo), hi)} (ReLU6 is {@code clamp(x, 0, 6)}). */
    Tensor clamp(Workspace ws, Tensor x, float lo, float hi);

    /** {@code 1 / (1 + exp(-x))}. */
    Tensor sigmoid(Workspace ws, Tensor x);

    // ------------------------------------------------------------ matmul and attention

    /**
     * Batched matmul {@code alpha * a @ op(b)}: {@code a} is {@code [B, M, K]}; {@code b} is {@code [B, K, N]}, or
     * {@code [B, N, K]} when {@code transposeB}. A batch of 1 in {@code b} broadcasts.
     */
    Tensor matmul(Workspace ws, Tensor a, Tensor b, boolean transposeB, float alpha);

    /**
     * Multi-head scaled-dot-product attention. {@code q} is {@code [B, Tq, H*D]}, {@code k} and {@code v}
     * {@code [B, Tk, H*D]} (self or cross). Per head: {@code softmax(scale * Q K^T + bias) V}. {@code bias} is an
     * additive mask (0 keeps, -inf or a large negative drops), the same for every head: {@code [B, Tk]} (one row for all
     * queries: padding), {@code [B, Tq, Tk]} (a row per query: causal masks), or null. The result is
     * {@code [B, Tq, H*D]} with heads in the same order as the inputs. Scores are computed in float32.
     */
    Tensor attention(Workspace ws, Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor bias);

    // ------------------------------------------------------------ resampling and shape ops

    /** Nearest-neighbour upsampling of NCHW to {@code outH x outW} with torch's rule {@code src = floor(dst * in / out)}. */
    Tensor upsampleNearest(Workspace ws, Tensor x, int outH, int outW);

    /** Average pooling, no padding, of NCHW. */
    Tensor avgPool2d(Workspace ws, Tensor x, int kernel, int stride);

    /**
     * Max or average pooling of {@code [N, C, H, W]} or {@code [N, C, D, H, W]} without padding (torch's floor mode:
     * trailing rows that do not fill a window are dropped); {@code kernel} and {@code stride} per spatial dimension.
     */
    Tensor pool(Workspace ws, Tensor x, boolean max, int[] kernel, int[] stride);

    /** Mean or max over {@code dims} (keeping them, with size 1), e.g. over channels {@code {1}} or a map {@code {2, 3}}. */
    Tensor reduce(Workspace ws, Tensor x, boolean max, int... dims);

    /**
     * Bilinear (4-D) or trilinear (5-D) resizing of the spatial dimensions to {@code size}, torch's
     * {@code align_corners=False} rule: source coordinate {@code (dst + 0.5) * in / out - 0.5}, clamped at 0.
     */
    Tensor resizeLinear(Workspace ws, Tensor x, long... size);

    /** Concatenation along dimension 1 (channels of NCHW, or tokens of [B, T, C]). */
    Tensor concat(Workspace ws, Tensor a, Tensor b);

    // ------------------------------------------------------------ elementwise with broadcasting (numpy rules)

    /** {@code alpha * a + beta * b}, {@code b} broadcast to {@code a}'s shape. */
    Tensor add(Workspace ws, Tensor a, Tensor b, float alpha, float beta);

    /** {@code a * b}, {@code b} broadcast to {@code a}'s shape. */
    Tensor mul(Workspace ws, Tensor a, Tensor b);

    /** {@code a * s}. */
    Tensor scale(Workspace ws, Tensor a, float s);

    /**
     * {@code x * (1 + scale) + shift} with {@code scale}, {@code shift} of shape {@code [N, C]} broadcast over the
     * spatial dimensions of NCHW {@code x} (the scale-shift resnet norm and FreeU-style modulation).
     */
    Tensor scaleShift(Workspace ws, Tensor x, Tensor scale, Tensor shift);

    /**
     * Copies {@code src} into {@code dst}, a tensor or view of the same shape with any strides (e.g. every other pixel
     * of a larger map).
     */
    default void copyInto(Workspace ws, Tensor src, Tensor dst) {
        dst.copyFrom(src);
    }

    /** A copy of {@code x} in this backend's preferred layout (e.g. channels-last for 4-D). */
    Tensor copy(Workspace ws, Tensor x);
}
