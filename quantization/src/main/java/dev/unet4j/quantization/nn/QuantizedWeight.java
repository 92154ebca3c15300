package dev.unet4j.quantization.nn;

import dev.unet4j.core.kernels.Int8WeightLayer;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.DoubleRounding;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightFormat;
import dev.unet4j.quantization.WeightPrecision;

import java.util.HashMap;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * What a quantized layer keeps: its weight codes and scales, a float32 copy of its bias (small), plus the module
 * path the precision is looked up by. INT8 codes go to the backend's {@link Int8WeightLayer} (native memory on
 * oneDNN, decoded there per call; no copy stays on the Java heap); FP8 codes stay in their {@link QuantizedTensor}
 * and {@link #decode} materialises the float32 weight for one call from the workspace's allocator.
 */
final class QuantizedWeight implements AutoCloseable {
    private static final byte[][] REMAPS = new byte[DoubleRounding.MAX_BITS][];

    static {
        for (int bits = DoubleRounding.MIN_BITS; bits < DoubleRounding.MAX_BITS; bits++) REMAPS[bits] = DoubleRounding.scaledCodes(bits);
    }

    private final String path;
    private final String name;
    private final WeightFormat format;
    private final long[] shape;
    private final boolean perTensorScale; // one scale for all channels (given back that way by weight())
    private final QuantizedTensor fp8; // FP8 weights: decoded in Java per call; null for INT8
    private final Int8WeightLayer int8; // INT8 weights: the backend's layer; null for FP8
    private final Tensor bias; // owned; null when the layer has none
    private final Map<Integer, Tensor> correctedBias = new HashMap<>(); // owned; by bits

    /**
     * @param bias          float32 bias or null
     * @param correctedBias biases corrected for the quantization error at given bit widths (see
     *                      {@link dev.unet4j.quantization.mixed.BiasCorrection}); used instead of {@code bias} at those widths
     * @param int8Layer     makes the backend layer of INT8 weights from their row-major codes and per-channel scales
     */
    QuantizedWeight(String path, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias,
                    BiFunction<byte[], float[], Int8WeightLayer> int8Layer) {
        this.path = path;
        this.name = weight.name();
        this.format = weight.format();
        this.shape = weight.shape();
        this.perTensorScale = weight.granularity() == dev.unet4j.quantization.Granularity.PER_TENSOR;
        checkBias(bias, "bias");
        correctedBias.forEach((bits, b) -> checkBias(b, bits + "-bit corrected bias"));
        if (format == WeightFormat.INT8) {
            float[] perChannel = new float[weight.channels()];
            for (int c = 0; c < perChannel.length; c++) perChannel[c] = weight.scale(c);
            this.int8 = int8Layer.apply(weight.codes(), perChannel);
            this.fp8 = null;
        } else {
            this.int8 = null;
            this.fp8 = weight;
        }
        this.bias = bias == null ? null : Tensor.of(bias, bias.length);
        correctedBias.forEach((bits, b) -> this.correctedBias.put(bits, Tensor.of(b, b.length)));
    }

    private void checkBias(float[] b, String what) {
        if (b != null && b.length != shape[0]) {
            throw new IllegalArgumentException(path + ": " + what + " of " + b.length + " for " + shape[0] + " output channels");
        }
    }

    String path() {
        return path;
    }

    /** The quantized weight (for INT8 read back from the backend's copy). */
    QuantizedTensor weight() {
        if (fp8 != null) return fp8;
        float[] scales = int8.scales();
        return new QuantizedTensor(name, format, shape, int8.codes(), perTensorScale ? new float[]{scales[0]} : scales);
    }

    /** Bytes kept for the weight: codes and scales. */
    long weightBytes() {
        return int8 != null ? int8.residentBytes() : fp8.storageBytes();
    }

    /** The bias to use at {@code bits}: its corrected bias if there is one, else the plain bias (may be null). */
    Tensor bias(int bits) {
        return correctedBias.getOrDefault(bits, bias);
    }

    /** Bits this layer runs at in {@code ws}: the workspace's precision for INT8 weights, the stored 8 for FP8. */
    int bits(Workspace ws) {
        if (format != WeightFormat.INT8) return 8;
        return ws.attributes().getOrDefault(WeightPrecision.class, WeightPrecision.STORED).bitsFor(path);
    }

    /** The backend layer of INT8 weights, or null for FP8 ones (which {@link #decode}). */
    Int8WeightLayer int8() {
        return int8;
    }

    /** The code remapping that derives {@code bits}-bit weights from the stored INT8 codes; null at 8 bits. */
    static byte[] remap(int bits) {
        if (bits == DoubleRounding.MAX_BITS) return null;
        if (bits < DoubleRounding.MIN_BITS || bits > DoubleRounding.MAX_BITS) {
            throw new IllegalArgumentException("double rounding derives 2..8-bit weights from INT8, not " + bits + " bits");
        }
        return REMAPS[bits];
    }

    /**
     * The float32 FP8 weight for one call, decoded into a workspace buffer whose size is rounded up to a power of
     * two: the session pool then keeps one buffer per size class instead of one per distinct weight shape. The
     * caller closes it after the kernel ran.
     */
    Decoded decode(Workspace ws, int bits) {
        if (fp8 == null) throw new IllegalStateException(path + ": INT8 weights run through the backend's int8-weight layer");
        long n = Tensor.numel(shape);
        Tensor base = Tensor.allocate(ws.allocator(), Math.max(1, Long.highestOneBit(n - 1) << 1));
        try {
            Tensor w = base.view(shape, Tensor.rowMajorStrides(shape), 0);
            fp8.decodeInto(w, bits);
            return new Decoded(base, w);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /** A decoded weight {@code view} over {@code base}, which closing releases. */
    record Decoded(Tensor base, Tensor view) implements AutoCloseable {
        @Override
        public void close() {
            base.close();
        }
    }

    @Override
    public void close() {
        if (int8 != null) int8.close();
        if (bias != null) bias.close();
        correctedBias.values().forEach(Tensor::close);
    }
}
