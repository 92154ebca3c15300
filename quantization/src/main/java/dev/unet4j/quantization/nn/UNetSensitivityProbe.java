package dev.unet4j.quantization.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.mixed.ModelOutputProbe;
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
 * {@link ModelOutputProbe} of a diffusion UNet: the mean squared difference of the predicted noise between the float32
 * model and the INT8 model with one layer at {@code b} bits, over calibration inputs (spread them over timesteps).
 */
public final class UNetSensitivityProbe implements SensitivityProbe {
    private final ModelOutputProbe probe;

    /** Runs the float model once per input now; {@code inputs} must stay open while the probe is used. */
    public UNetSensitivityProbe(UNetModel floatModel, UNetModel quantizedModel, List<UNetInputs> inputs) {
        if (inputs.isEmpty()) throw new IllegalArgumentException("sensitivity needs at least one calibration input");
        List<UNetInputs> calibration = List.copyOf(inputs);
        this.probe = new ModelOutputProbe(outputs(floatModel, null, calibration), p -> outputs(quantizedModel, p, calibration));
    }

    /** Error of the all-8-bit model against the float model. */
    public double baseline() {
        return probe.baseline();
    }

    @Override
    public double outputError(String layer, int bits) {
        return probe.outputError(layer, bits);
    }

    /** The model's output per input, its session at {@code precision} (null: none set). */
    private static List<float[]> outputs(UNetModel model, WeightPrecision precision, List<UNetInputs> inputs) {
        List<float[]> out = new ArrayList<>();
        try (UNetSession s = model.newSession()) {
            if (precision != null) s.workspace().attributes().put(WeightPrecision.class, precision);
            for (UNetInputs in : inputs) {
                try (Tensor y = s.forward(in)) {
                    out.add(y.toFloatArray());
                }
            }
        }
        return out;
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
