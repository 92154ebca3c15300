package dev.unet4j.quantization.mixed;

import java.util.ArrayList;
import java.util.List;

/** Builds the knapsack's input by probing every layer at every candidate bit width. */
public final class SensitivityAnalysis {
    private SensitivityAnalysis() {
    }

    /** Shape facts of a layer needed to price it. */
    public record LayerShape(String layer, long parameters, int channels) {
    }

    /** {@code layers.size() * bits.length} probe calls. */
    public static List<LayerSensitivity> measure(List<LayerShape> layers, int[] bits, SensitivityProbe probe) {
        List<LayerSensitivity> out = new ArrayList<>(layers.size());
        for (LayerShape l : layers) {
            List<LayerOption> options = new ArrayList<>(bits.length);
            for (int b : bits) {
                options.add(new LayerOption(b, LayerSensitivity.packedBytes(l.parameters(), l.channels(), b), probe.outputError(l.layer(), b)));
            }
            out.add(new LayerSensitivity(l.layer(), options));
        }
        return out;
    }
}
