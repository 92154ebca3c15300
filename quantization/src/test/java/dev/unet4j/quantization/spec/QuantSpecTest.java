package dev.unet4j.quantization.spec;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.nn.Int8Activations;
import dev.unet4j.quantization.nn.WeightFootprint;
import dev.unet4j.quantization.spec.QuantSpec.MixedBudget;
import dev.unet4j.quantization.spec.QuantSpec.Scheme;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantSpecTest {

    @Test
    void parsesEveryForm() {
        assertEquals(Scheme.FP32, QuantSpec.parse("fp32").scheme());
        assertTrue(QuantSpec.parse(" BF16 ").kernelOptions().bf16Compute());
        assertNull(QuantSpec.parse("bf16").plan());
        QuantSpec int8 = QuantSpec.parse("int8");
        assertEquals(WeightFormat.INT8, int8.plan().defaultQuantizer().format());
        assertNull(int8.activations());
        assertEquals(Int8Activations.DYNAMIC, QuantSpec.parse("int8-w8a8").activations());
        assertEquals(WeightFormat.FP8_E4M3, QuantSpec.parse("fp8-e4m3").plan().defaultQuantizer().format());
        assertEquals(WeightFormat.FP8_E5M2, QuantSpec.parse("fp8-e5m2").plan().defaultQuantizer().format());
        assertEquals(6, QuantSpec.parse("dr:6").bits());
        assertEquals(new MixedBudget(MixedBudget.Kind.FRACTION_OF_FLOAT32, 0.2), QuantSpec.parse("mixed:0.2").budget());
        assertEquals(new MixedBudget(MixedBudget.Kind.BYTES, 300e6), QuantSpec.parse("mixed:300MB").budget());
        assertEquals(new MixedBudget(MixedBudget.Kind.BYTES, 1500), QuantSpec.parse("mixed:1.5kb").budget());
        assertEquals(new MixedBudget(MixedBudget.Kind.AVERAGE_BITS, 5.5), QuantSpec.parse("mixed:5.5").budget());
        // the default float32 set is kept in every weight plan
        assertTrue(QuantSpec.parse("int8-w8a8").plan().quantizerFor("conv_in").isEmpty());
        assertTrue(QuantSpec.parse("fp8-e4m3").plan().quantizerFor("up_blocks.0.resnets.0.conv_shortcut").isEmpty());
    }

    @Test
    void badSpecsListTheValidForms() {
        for (String bad : new String[]{"int4", "dr:9", "dr:x", "mixed:1.5", "mixed:0", "mixed:-3MB", "mixed:abc", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantSpec.parse(bad), bad);
            assertTrue(e.getMessage().contains("valid: fp32, bf16, int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> QuantSpec.parse("dr:9")).getMessage().contains("2..8"));
    }

    @Test
    void mixedBudgetsBecomeKnapsackBytes() {
        // Two INT8 layers: [4, 10] (40 codes + 4 scales) and [2, 5] (10 codes + 2 scales); 1000 float32 bytes overall,
        // 300 resident of which 40+16 + 10+8 = 74 are the quantized codes and scales, so 226 are fixed.
        Map<String, QuantizedTensor> layers = Map.of(
                "a", new QuantizedTensor("a", WeightFormat.INT8, new long[]{4, 10}, new byte[40], new float[]{1, 1, 1, 1}),
                "b", new QuantizedTensor("b", WeightFormat.INT8, new long[]{2, 5}, new byte[10], new float[]{1, 1}));
        WeightFootprint fp = new WeightFootprint(1000, 300, Map.of());
        assertEquals(500 - 226, QuantSpec.parse("mixed:0.5").budget().knapsackBytes(fp, layers));
        assertEquals(400 - 226, QuantSpec.parse("mixed:400b").budget().knapsackBytes(fp, layers));
        // 4 bits: floor(40 * 4 / 8) + 16 + floor(10 * 4 / 8) + 8
        assertEquals(20 + 16 + 5 + 8, QuantSpec.parse("mixed:4").budget().knapsackBytes(fp, layers));
    }

    @Test
    void loadsReportFootprintAndPrecision() throws Exception {
        Path folder = Fixtures.model("digits-16");
        try (DnnlKernels dnnl = new DnnlKernels()) {
            try (QuantSpec.Loaded f = QuantSpec.parse("fp32").load(folder, dnnl, List.of())) {
                assertEquals(f.footprint().float32Bytes(), f.footprint().residentBytes());
                assertEquals(WeightPrecision.STORED, f.precision());
            }
            try (QuantSpec.Loaded q = QuantSpec.parse("dr:4").load(folder, dnnl, List.of())) {
                assertEquals(WeightPrecision.uniform(4), q.precision());
                assertTrue(q.footprint().ratio() < 0.3, q.footprint().toString());
            }
            assertThrows(IllegalArgumentException.class, () -> QuantSpec.parse("bf16").load(folder, dnnl, List.of()));
            assertThrows(IllegalArgumentException.class, () -> QuantSpec.parse("mixed:0.2").load(folder, dnnl, List.of()));
        }
    }
}
