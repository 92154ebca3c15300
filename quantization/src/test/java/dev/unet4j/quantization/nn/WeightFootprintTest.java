package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.nn.WeightFootprint.LayerKind;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Resident weight bytes of quantized loads, counted against the checkpoint's own tensor sizes: INT8/FP8 layers
 * keep one byte per weight plus a float32 scale and bias per output channel, float32 layers four bytes per value.
 */
class WeightFootprintTest {

    @Test
    void residentBytesAreCodesScalesAndBiases() throws Exception {
        Path folder = Fixtures.model("digits-16");
        ReferenceKernels kernels = new ReferenceKernels();
        for (WeightFormat format : new WeightFormat[]{WeightFormat.INT8, WeightFormat.FP8_E4M3}) {
            QuantizationPlan defaults = QuantizationPlan.defaults(WeightQuantizer.of(format, Granularity.PER_OUTPUT_CHANNEL));
            for (QuantizationPlan plan : List.of(defaults, defaults.withKeepFloat(List.of()))) {
                try (QuantizedUNets.Loaded q = QuantizedUNets.loadWithLayers(folder, kernels, plan);
                     SafetensorsFile f = SafetensorsFile.open(folder.resolve("diffusion_pytorch_model.safetensors"))) {
                    WeightFootprint fp = q.footprint();
                    long float32 = 0, resident = 0;
                    for (Map.Entry<String, LayerKind> e : fp.layers().entrySet()) {
                        TensorInfo w = f.info(e.getKey() + ".weight");
                        long bias = f.contains(e.getKey() + ".bias") ? f.info(e.getKey() + ".bias").numel() : 0;
                        float32 += 4 * (w.numel() + bias);
                        resident += e.getValue() == LayerKind.FLOAT32 ? 4 * (w.numel() + bias) : w.numel() + 4 * w.shape()[0] + 4 * bias;
                    }
                    assertEquals(float32, fp.float32Bytes(), format + " float32 bytes");
                    assertEquals(resident, fp.residentBytes(), format + " resident bytes");
                    boolean all = plan.keepFloat().isEmpty();
                    System.out.println("digits-16 " + format + (all ? " everything quantized: " : " default float set: ") + fp);
                    if (all) assertTrue(fp.ratio() <= 0.26, format + " all quantized: " + fp);
                    else assertTrue(fp.ratio() <= 0.30, format + " default set: " + fp);
                }
            }
        }
    }
}
