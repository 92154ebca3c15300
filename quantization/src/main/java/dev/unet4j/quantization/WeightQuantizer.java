package dev.unet4j.quantization;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.tensor.Tensor;

import java.util.Arrays;

/**
 * Symmetric weight quantization: per group (the whole tensor, or each output channel) a clip range {@code c} from
 * {@link RangeSearch} (the group's amax by default), {@code scale = c / format.maxCode()} (amax/127 for INT8,
 * amax/448 or amax/57344 for FP8), and codes {@code encode(w / scale)} with round half to even, saturated.
 *
 * <p>A group that is entirely zero gets {@code scale = 1}: its codes are all 0 and decode to exact zeros, and a
 * positive scale keeps the division defined and the stored scale valid. Non-finite weights are rejected.
 *
 * @param format      storage format
 * @param granularity one scale per tensor or per output channel
 * @param range       clip range search ({@link RangeSearch#minMax()} for plain amax)
 */
public record WeightQuantizer(WeightFormat format, Granularity granularity, RangeSearch range) {

    public WeightQuantizer {
        if (format == null || granularity == null || range == null) throw new IllegalArgumentException("null WeightQuantizer setting");
    }

    /** INT8, per output channel, amax/127. */
    public static WeightQuantizer int8PerChannel() {
        return new WeightQuantizer(WeightFormat.INT8, Granularity.PER_OUTPUT_CHANNEL, RangeSearch.minMax());
    }

    public static WeightQuantizer of(WeightFormat format, Granularity granularity) {
        return new WeightQuantizer(format, granularity, RangeSearch.minMax());
    }

    /** Quantizes a float32 weight tensor {@code [out, ...]} (any layout). */
    public QuantizedTensor quantize(String name, Tensor weight) {
        return quantize(name, weight.toFloatArray(), weight.shape());
    }

    /** Quantizes row-major weights {@code w} of {@code shape} ({@code shape[0]} = output channels). */
    public QuantizedTensor quantize(String name, float[] w, long[] shape) {
        if (shape.length == 0 || Tensor.numel(shape) != w.length) {
            throw new IllegalArgumentException(name + ": " + w.length + " weights for shape " + Arrays.toString(shape));
        }
        for (int i = 0; i < w.length; i++) {
            if (!Float.isFinite(w[i])) throw new IllegalArgumentException(name + ": weight " + i + " is " + w[i] + "; cannot quantize non-finite weights");
        }
        int channels = (int) shape[0];
        int groups = granularity == Granularity.PER_TENSOR ? 1 : channels;
        int groupLength = w.length / groups;
        float[] scales = new float[groups];
        byte[] codes = new byte[w.length];
        for (int g = 0; g < groups; g++) {
            int off = g * groupLength;
            float clip = range.clip(w, off, groupLength, format);
            float scale = clip > 0 ? clip / format.maxCode() : 1f;
            if (!(scale > 0)) scale = Float.MIN_NORMAL; // a clip so small that clip/max underflows: keep a valid scale
            scales[g] = scale;
            for (int i = 0; i < groupLength; i++) codes[off + i] = format.encode(w[off + i], scale);
        }
        return new QuantizedTensor(name, format, shape, codes, scales);
    }
}
