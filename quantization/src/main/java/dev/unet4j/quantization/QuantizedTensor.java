package dev.unet4j.quantization;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/**
 * A weight stored as one byte per element plus float32 scales: {@code w[c, i] = value(code[c, i]) * scale[c]}.
 * Codes are row-major over {@code shape}; dimension 0 is the output channel. {@code scales} has one entry
 * ({@link Granularity#PER_TENSOR}) or {@code shape[0]} entries ({@link Granularity#PER_OUTPUT_CHANNEL}).
 * Immutable (the arrays are not exposed) and thread-safe.
 */
public final class QuantizedTensor {
    private final String name;
    private final WeightFormat format;
    private final long[] shape;
    private final byte[] codes;
    private final float[] scales;
    private final int channelLength;

    public QuantizedTensor(String name, WeightFormat format, long[] shape, byte[] codes, float[] scales) {
        this.name = name;
        this.format = format;
        this.shape = shape.clone();
        long n = Tensor.numel(shape);
        if (shape.length == 0 || n != codes.length) {
            throw new IllegalArgumentException(name + ": " + codes.length + " codes for shape " + Arrays.toString(shape));
        }
        if (scales.length != 1 && scales.length != shape[0]) {
            throw new IllegalArgumentException(name + ": " + scales.length + " scales for " + shape[0] + " output channels (expected 1 or " + shape[0] + ")");
        }
        for (float s : scales) {
            if (!(s > 0) || Float.isInfinite(s)) throw new IllegalArgumentException(name + ": scale " + s + " is not a positive finite number");
        }
        if (format == WeightFormat.INT8) {
            for (int i = 0; i < codes.length; i++) {
                if (codes[i] == Byte.MIN_VALUE) throw new IllegalArgumentException(name + ": INT8 code -128 at element " + i + "; codes must be in [-127, 127]");
            }
        }
        this.codes = codes.clone();
        this.scales = scales.clone();
        this.channelLength = (int) (n / shape[0]);
    }

    public String name() {
        return name;
    }

    public WeightFormat format() {
        return format;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int channels() {
        return (int) shape[0];
    }

    public int channelLength() {
        return channelLength;
    }

    public Granularity granularity() {
        return scales.length == 1 && shape[0] != 1 ? Granularity.PER_TENSOR : Granularity.PER_OUTPUT_CHANNEL;
    }

    public float scale(int channel) {
        return scales[scales.length == 1 ? 0 : channel];
    }

    public float[] scales() {
        return scales.clone();
    }

    public byte[] codes() {
        return codes.clone();
    }

    public byte code(long index) {
        return codes[Math.toIntExact(index)];
    }

    /** Bytes this weight occupies: codes plus float32 scales. */
    public long storageBytes() {
        return codes.length + 4L * scales.length;
    }

    /** The float32 weights this tensor stands for (row-major), at the stored precision. */
    public float[] dequantize() {
        return dequantize(8);
    }

    /**
     * The float32 weights at {@code bits} bits: the stored precision for 8, or for an INT8 tensor the weights derived
     * by {@link DoubleRounding} for 2..7. FP8 tensors only have their stored precision.
     */
    public float[] dequantize(int bits) {
        float[] out = new float[codes.length];
        float[] table = codeTable(bits);
        float[] lut = new float[256];
        for (int c = 0; c < shape[0]; c++) {
            fillLut(table, scale(c), lut);
            int base = c * channelLength;
            for (int i = 0; i < channelLength; i++) out[base + i] = lut[codes[base + i] & 0xFF];
        }
        return out;
    }

    /**
     * Decodes into {@code dst}, a contiguous float32 tensor of this shape, channel by channel: INT8 at its stored 8
     * bits as {@code code * scale} (a loop the JIT vectorises), everything else through a 256-entry table of
     * {@code value(code) * scale} filled per channel; each channel is written with one bulk copy. Tensors of at least
     * {@value #PARALLEL_DECODE_ELEMENTS} elements are decoded by several common-pool threads, by channel ranges.
     */
    public void decodeInto(Tensor dst, int bits) {
        if (!Arrays.equals(dst.shape(), shape) || !dst.isContiguous()) {
            throw new IllegalArgumentException(name + ": cannot decode into " + dst + ", expected a contiguous tensor of shape " + Arrays.toString(shape));
        }
        float[] table = codeTable(bits);
        boolean direct = format == WeightFormat.INT8 && bits == 8;
        int channels = (int) shape[0];
        int tasks = codes.length < PARALLEL_DECODE_ELEMENTS ? 1 : Math.min(channels, 4 * ForkJoinPool.getCommonPoolParallelism());
        if (tasks <= 1) {
            decodeChannels(table, direct, 0, channels, dst.rawBuffer());
        } else {
            IntStream.range(0, tasks).parallel().forEach(t ->
                    decodeChannels(table, direct, (int) ((long) t * channels / tasks), (int) ((long) (t + 1) * channels / tasks), dst.rawBuffer()));
        }
    }

    /** Elements from which {@link #decodeInto} uses several threads. */
    public static final int PARALLEL_DECODE_ELEMENTS = 1 << 20;

    private void decodeChannels(float[] table, boolean direct, int from, int to, FloatBuffer out) {
        float[] lut = direct ? null : new float[256];
        float[] row = new float[channelLength];
        float lastScale = Float.NaN;
        for (int c = from; c < to; c++) {
            float s = scale(c);
            int base = c * channelLength;
            if (direct) {
                for (int i = 0; i < channelLength; i++) row[i] = codes[base + i] * s;
            } else {
                if (s != lastScale) {
                    fillLut(table, s, lut);
                    lastScale = s;
                }
                for (int i = 0; i < channelLength; i++) row[i] = lut[codes[base + i] & 0xFF];
            }
            out.put(base, row);
        }
    }

    private float[] codeTable(int bits) {
        if (bits == 8) return format.codeValues();
        if (format != WeightFormat.INT8) throw new IllegalArgumentException(name + ": " + format + " weights have no " + bits + "-bit form; only INT8 derives lower precisions");
        return DoubleRounding.codeValues(bits);
    }

    private static void fillLut(float[] table, float scale, float[] lut) {
        for (int k = 0; k < 256; k++) lut[k] = table[k] * scale;
    }

    @Override
    public String toString() {
        return "QuantizedTensor[" + name + ", " + format + Arrays.toString(shape) + ", " + granularity() + "]";
    }
}
