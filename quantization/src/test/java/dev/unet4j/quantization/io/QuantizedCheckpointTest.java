package dev.unet4j.quantization.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.Granularity;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.nn.QuantizationPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizedCheckpointTest {

    @Test
    void quantizesTheDigitsModelAndRoundTripsByteExact(@TempDir Path dir) throws Exception {
        Path source = Fixtures.model("digits-16");
        QuantizationPlan plan = QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())
                .override("**.attentions.**", WeightQuantizer.of(WeightFormat.FP8_E4M3, Granularity.PER_OUTPUT_CHANNEL))
                .override("**.time_emb_proj", WeightQuantizer.of(WeightFormat.FP8_E5M2, Granularity.PER_TENSOR));
        QuantizedCheckpoint ckpt = QuantizedCheckpoint.quantize(source, plan);
        Path first = dir.resolve("first"), second = dir.resolve("second");
        ckpt.write(first);
        QuantizedCheckpoint back = QuantizedCheckpoint.read(first);
        back.write(second);
        assertArrayEquals(Files.readAllBytes(first.resolve(QuantizedCheckpoint.WEIGHTS_FILE)), Files.readAllBytes(second.resolve(QuantizedCheckpoint.WEIGHTS_FILE)));
        assertEquals(Files.readString(source.resolve("config.json")), Files.readString(second.resolve("config.json")));

        assertEquals(ckpt.quantized().keySet(), back.quantized().keySet());
        for (Map.Entry<String, QuantizedTensor> e : ckpt.quantized().entrySet()) {
            QuantizedTensor a = e.getValue(), b = back.quantized().get(e.getKey());
            assertEquals(a.format(), b.format(), e.getKey());
            assertArrayEquals(a.shape(), b.shape(), e.getKey());
            assertArrayEquals(a.codes(), b.codes(), e.getKey());
            assertArrayEquals(a.scales(), b.scales(), e.getKey());
        }
        for (Map.Entry<String, QuantizedCheckpoint.FloatTensor> e : ckpt.floats().entrySet()) {
            assertArrayEquals(e.getValue().data(), back.floats().get(e.getKey()).data(), e.getKey());
        }

        // The file as another reader sees it: dtypes, scale tensors, float set, metadata.
        try (SafetensorsFile st = SafetensorsFile.open(first.resolve(QuantizedCheckpoint.WEIGHTS_FILE))) {
            assertEquals(DType.I8, st.info("down_blocks.0.resnets.0.conv1.weight").dtype());
            assertArrayEquals(new long[]{32, 32, 3, 3}, st.info("down_blocks.0.resnets.0.conv1.weight").shape());
            assertArrayEquals(new long[]{32}, st.info("down_blocks.0.resnets.0.conv1.weight.scale").shape());
            assertEquals(DType.F8_E4M3, st.info("down_blocks.1.attentions.0.to_q.weight").dtype());
            assertEquals(DType.F8_E5M2, st.info("down_blocks.0.resnets.0.time_emb_proj.weight").dtype());
            assertArrayEquals(new long[]{1}, st.info("down_blocks.0.resnets.0.time_emb_proj.weight.scale").shape());
            for (String kept : new String[]{"conv_in.weight", "conv_out.weight", "time_embedding.linear_1.weight", "class_embedding.weight",
                    "down_blocks.1.resnets.0.conv_shortcut.weight", "down_blocks.0.resnets.0.norm1.weight", "down_blocks.0.resnets.0.conv1.bias"}) {
                assertEquals(DType.F32, st.info(kept).dtype(), kept);
            }
            assertEquals("pt", st.metadata().get("format"));
            JsonNode meta = new ObjectMapper().readTree(st.metadata().get(QuantizedCheckpoint.METADATA_KEY));
            assertEquals(1, meta.get("version").asInt());
            assertEquals("INT8", meta.at("/weights/down_blocks.0.resnets.0.conv1.weight/format").asText());
            assertEquals("FP8_E4M3", meta.at("/plan/overrides/**.attentions.**/format").asText());
            assertTrue(meta.at("/plan/keepFloat").toString().contains("\"**.conv_shortcut\""));
        }
        // Storage: the 111 conv/linear weights of the float model mostly become bytes.
        long floatBytes = Files.size(source.resolve(QuantizedCheckpoint.WEIGHTS_FILE));
        long quantBytes = Files.size(first.resolve(QuantizedCheckpoint.WEIGHTS_FILE));
        assertTrue(quantBytes < floatBytes * 0.4, quantBytes + " bytes quantized vs " + floatBytes + " float");
    }

    @Test
    void storedCodesBuildLayersWithoutRequantizing(@TempDir Path dir) throws Exception {
        QuantizedCheckpoint.quantize(Fixtures.model("digits-16"), QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())).write(dir);
        QuantizedCheckpoint ckpt = QuantizedCheckpoint.read(dir);
        dev.unet4j.core.kernels.Kernels kernels = new dev.unet4j.core.kernels.ReferenceKernels();
        dev.unet4j.quantization.nn.QuantizingLayerFactory factory =
                new dev.unet4j.quantization.nn.QuantizingLayerFactory(kernels, dev.unet4j.quantization.nn.WeightSource.of(ckpt));
        String path = "up_blocks.0.resnets.0.conv1";
        assertTrue(ckpt.parameterNames().contains(path + ".weight"));
        assertTrue(ckpt.parameterNames().stream().noneMatch(n -> n.endsWith(QuantizedCheckpoint.SCALE_SUFFIX)));
        try (dev.unet4j.core.tensor.Tensor w = ckpt.loadFloat(path + ".weight"); dev.unet4j.core.tensor.Tensor b = ckpt.loadFloat(path + ".bias");
             dev.unet4j.core.kernels.Conv2d conv = factory.conv2d(path, dev.unet4j.core.kernels.Conv2dSpec.of((int) w.dim(1), (int) w.dim(0), 3, 1, 1), w, b);
             dev.unet4j.core.tensor.Tensor kept = ckpt.loadFloat("conv_in.weight");
             dev.unet4j.core.kernels.Conv2d in = factory.conv2d("conv_in", dev.unet4j.core.kernels.Conv2dSpec.of(1, 32, 3, 1, 1), kept, null)) {
            QuantizedTensor stored = ckpt.quantized().get(path + ".weight");
            assertTrue(conv instanceof dev.unet4j.quantization.nn.QuantizedConv2d);
            assertArrayEquals(stored.codes(), ((dev.unet4j.quantization.nn.QuantizedConv2d) conv).quantizedWeight().codes());
            assertArrayEquals(stored.dequantize(), w.toFloatArray());
            assertTrue(!(in instanceof dev.unet4j.quantization.nn.QuantizedConv2d), "conv_in is stored float and stays float");
        }
    }

    @Test
    void rejectsAFileWithoutQuantizationMetadata(@TempDir Path dir) throws Exception {
        Random rnd = new Random(1);
        float[] w = new float[8];
        for (int i = 0; i < 8; i++) w[i] = (float) rnd.nextGaussian();
        QuantizedCheckpoint c = new QuantizedCheckpoint("{}", null,
                Map.of("a.weight", WeightQuantizer.int8PerChannel().quantize("a.weight", w, new long[]{2, 4})), Map.of());
        c.write(dir);
        assertEquals(Map.of("a.weight", WeightFormat.INT8), Map.of("a.weight", QuantizedCheckpoint.read(dir).quantized().get("a.weight").format()));
        new dev.unet4j.core.io.SafetensorsWriter().add("x", new float[]{1}, 1).write(dir.resolve(QuantizedCheckpoint.WEIGHTS_FILE));
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> QuantizedCheckpoint.read(dir));
        assertTrue(e.getMessage().contains(QuantizedCheckpoint.METADATA_KEY), e.getMessage());
    }
}
