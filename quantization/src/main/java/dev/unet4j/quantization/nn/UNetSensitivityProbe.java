package dev.unet4j.quantization.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.mixed.SensitivityAnalysis;
import dev.unet4j.quantization.mixed.SensitivityProbe;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Map.Entry;

/**
 * Model-level layer sensitivity: the mean squared difference between the float32 model's output and the INT8 model's
 * output when one layer runs at {@code b} bits (derived by double rounding, switched through the session's
 * {@link WeightPrecision}, so no reload per probe), over calibration inputs (spread them over timesteps).
 *
 * <p>The other quantized layers run at their stored 8 bits rather than float32 (one model serves every probe), so each
 * value includes roughly the error of the all-8-bit model ({@link #baseline()}, typically 60 dB below the signal).
 * It is not subtracted: the difference of two such small errors can be negative by chance, and a near-constant
 * offset per layer does not change which assignment the knapsack prefers.
 */
public final class UNetSensitivityProbe implements SensitivityProbe {
    private final UNetModel quantized;
    private final List<UNetInputs> inputs;
    private final List<float[]> references = new ArrayList<>();
    private final double baseline;

    /** Runs the float model once per input now; {@code inputs} must stay open while the probe is used. */
    public UNetSensitivityProbe(UNetModel floatModel, UNetModel quantizedModel, List<UNetInputs> inputs) {
        if (inputs.isEmpty()) throw new IllegalArgumentException("sensitivity needs at least one calibration input");
        this.quantized = quantizedModel;
        this.inputs = List.copyOf(inputs);
        try (UNetSession s = floatModel.newSession()) {
            for (UNetInputs in : inputs) {
                try (Tensor y = s.forward(in)) {
                    references.add(y.toFloatArray());
                }
            }
        }
        this.baseline = error(WeightPrecision.STORED);
    }

    /** Error of the all-8-bit model against the float model. */
    public double baseline() {
        return baseline;
    }

    @Override
    public double outputError(String layer, int bits) {
        return bits == 8 ? baseline : error(new WeightPrecision(8, Map.of(layer, bits)));
    }

    private double error(WeightPrecision precision) {
        double sum = 0;
        long n = 0;
        try (UNetSession s = quantized.newSession()) {
            s.workspace().attributes().put(WeightPrecision.class, precision);
            for (int i = 0; i < inputs.size(); i++) {
                float[] ref = references.get(i);
                try (Tensor y = s.forward(inputs.get(i))) {
                    float[] got = y.toFloatArray();
                    for (int k = 0; k < ref.length; k++) sum += (double) (got[k] - ref[k]) * (got[k] - ref[k]);
                    n += ref.length;
                }
            }
        }
        return sum / n;
    }

    /** The knapsack's layer list for quantized layers as reported by {@link QuantizedUNets#loadWithLayers}. */
    public static List<SensitivityAnalysis.LayerShape> shapes(Map<String, QuantizedTensor> layers) {
        List<SensitivityAnalysis.LayerShape> out = new ArrayList<>();
        for (Entry<String, QuantizedTensor> e : layers.entrySet()) {
            QuantizedTensor t = e.getValue();
            out.add(new SensitivityAnalysis.LayerShape(e.getKey(), (long) t.channels() * t.channelLength(), t.scales().length));
        }
        return out;
    }
}
