package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.CodedWeightLayer;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.DoubleRounding;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;

import java.util.HashMap;
import java.util.Map;

/**
 * What a quantized layer keeps: its weight codes and scales, a float32 copy of its bias (small), plus the module
 * path the precision is looked up by. The INT8 or FP8 codes go to the backend's {@link CodedWeightLayer} (native
 * memory on oneDNN, decoded there per call; no copy stays on the Java heap).
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
    private final CodedWeightLayer layer; // the backend's layer holding the codes and scales
    private final Tensor bias; // owned; null when the layer has none
    private final Map<Integer, Tensor> correctedBias = new HashMap<>(); // owned; by bits

    /** Makes the backend layer from row-major codes of the given element type and per-output-channel scales. */
    interface LayerFactory {
        CodedWeightLayer create(WeightFormat format, byte[] codes, float[] scales);
    }

    /**
     * @param bias          float32 bias or null
     * @param correctedBias biases corrected for the quantization error at given bit widths (see
     *                      {@link dev.unet4j.quantization.mixed.BiasCorrection}); used instead of {@code bias} at those widths
     * @param backend       makes the backend layer of the weight's codes
     */
    QuantizedWeight(String path, QuantizedTensor weight, float[] bias, Map<Integer, float[]> correctedBias, LayerFactory backend) {
        this.path = path;
        this.name = weight.name();
        this.format = weight.format();
        this.shape = weight.shape();
        this.perTensorScale = weight.granularity() == dev.unet4j.quantization.Granularity.PER_TENSOR;
        checkBias(bias, "bias");
        correctedBias.forEach((bits, b) -> checkBias(b, bits + "-bit corrected bias"));
        float[] perChannel = new float[weight.channels()];
        for (int c = 0; c < perChannel.length; c++) perChannel[c] = weight.scale(c);
        this.layer = backend.create(format, weight.codes(), perChannel);
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

    /** The quantized weight, read back from the backend's copy. */
    QuantizedTensor weight() {
        float[] scales = layer.scales();
        return new QuantizedTensor(name, format, shape, layer.codes(), perTensorScale ? new float[]{scales[0]} : scales);
    }

    /** Bytes kept for the weight: codes and scales. */
    long weightBytes() {
        return layer.residentBytes();
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

    /** The backend layer holding the codes. */
    CodedWeightLayer layer() {
        return layer;
    }

    /** The code remapping that derives {@code bits}-bit weights from the stored INT8 codes; null at 8 bits. */
    static byte[] remap(int bits) {
        if (bits == DoubleRounding.MAX_BITS) return null;
        if (bits < DoubleRounding.MIN_BITS || bits > DoubleRounding.MAX_BITS) {
            throw new IllegalArgumentException("double rounding derives 2..8-bit weights from INT8, not " + bits + " bits");
        }
        return REMAPS[bits];
    }

    @Override
    public void close() {
        layer.close();
        if (bias != null) bias.close();
        correctedBias.values().forEach(Tensor::close);
    }
}
