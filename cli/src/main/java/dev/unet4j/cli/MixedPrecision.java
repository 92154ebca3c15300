package dev.unet4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.mixed.LayerSensitivity;
import dev.unet4j.quantization.mixed.MixedPrecisionKnapsack;
import dev.unet4j.quantization.mixed.SensitivityAnalysis;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.quantization.nn.UNetSensitivityProbe;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code --quant mixed:BITS}: per-layer weight bits under an average budget, with the quantization module's pieces:
 * the INT8 model's layers, {@link UNetSensitivityProbe} (model-output MSE against the float model with one layer at
 * fewer bits) on seeded calibration inputs at three timesteps, and the exact {@link MixedPrecisionKnapsack}. The
 * budget is what the quantized layers take packed at BITS bits on average: {@code sum(params * BITS / 8 + 4 * channels)}.
 */
final class MixedPrecision {
    private static final Logger LOG = LoggerFactory.getLogger(MixedPrecision.class);
    static final int[] BITS = {8, 6, 4, 2};
    static final long[] CALIBRATION_TIMESTEPS = {100, 500, 900};

    private MixedPrecision() {
    }

    static WeightPrecision assign(Path folder, Kernels kernels, QuantizedUNets.Loaded quantized, JsonNode config, double averageBits)
            throws IOException {
        int[] sampleSize = LoadedModel.sampleSize(config);
        if (sampleSize == null) throw new UserException("--quant mixed: needs the config's sample_size for its calibration inputs");
        Map<String, QuantizedTensor> layers = quantized.layers();
        long budget = 0;
        for (QuantizedTensor t : layers.values()) {
            budget += (long) Math.floor(t.channels() * (double) t.channelLength() * averageBits / 8) + 4L * t.scales().length;
        }
        try (UNetModel floatModel = UNetModel.load(folder, LoadOptions.of(kernels))) {
            List<UNetInputs> inputs = new ArrayList<>();
            List<BenchInputs> owned = new ArrayList<>();
            try {
                for (long t : CALIBRATION_TIMESTEPS) {
                    BenchInputs in = BenchInputs.random(floatModel, config, 1, sampleSize[0], sampleSize[1], t);
                    owned.add(in);
                    inputs.add(in.inputs().with(in.inputs().sample(), Timestep.int64(t)));
                }
                UNetSensitivityProbe probe = new UNetSensitivityProbe(floatModel, quantized.model(), inputs);
                List<LayerSensitivity> sens = SensitivityAnalysis.measure(UNetSensitivityProbe.shapes(layers), BITS, probe);
                MixedPrecisionKnapsack.Assignment a;
                try {
                    a = MixedPrecisionKnapsack.solve(sens, budget);
                } catch (IllegalArgumentException e) {
                    throw new UserException("--quant mixed:" + averageBits + ": " + e.getMessage());
                }
                LOG.debug("mixed precision: {} layers, {} bytes of {} budget, bits {}", layers.size(), a.bytes(), budget, a.bits());
                return a.toPrecision(8);
            } finally {
                owned.forEach(BenchInputs::close);
            }
        }
    }
}
