package dev.unet4j.text;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.Float16;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint dtypes, ignored buffers, and every way a text encoder folder or call can be wrong. */
class ClipTextModelLoadingTest {
    static final Path SD = EncoderFixture.modelDir("sd");
    static final int[][] IDS = {{49406, 320, 1125, 539, 49407, 49407}, {49406, 2368, 49407, 49407, 49407, 49407}};

    @TempDir
    Path tmp;

    /** A copy of the sd encoder with every float tensor re-encoded by {@code bits} into {@code dtype}. */
    private Path rewrite(String name, DType dtype, boolean withPositionIds, IntUnaryOperator f32Bits) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        Files.copy(SD.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile src = SafetensorsFile.open(SD.resolve("model.safetensors"))) {
            for (String n : src.names()) {
                try (Tensor t = src.load(n)) {
                    float[] v = t.toFloatArray();
                    int size = dtype.byteSize();
                    ByteBuffer b = ByteBuffer.allocate(v.length * size).order(ByteOrder.LITTLE_ENDIAN);
                    for (float x : v) {
                        int bits = f32Bits.applyAsInt(Float.floatToRawIntBits(x));
                        if (dtype == DType.F32) b.putInt(bits);
                        else if (dtype == DType.BF16) b.putShort((short) (bits >>> 16));
                        else b.putShort(Float16.fromFloat(Float.intBitsToFloat(bits)));
                    }
                    w.addRaw(n, dtype, t.shape(), b.array());
                }
            }
        }
        if (withPositionIds) {
            long[] pos = new long[77];
            for (int i = 0; i < 77; i++) pos[i] = i;
            w.add("text_model.embeddings.position_ids", pos, 1, 77);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static float[] lastHidden(Path dir) throws IOException {
        try (ClipTextModel m = ClipTextModel.load(dir, new ReferenceKernels());
             ClipTextOutput o = m.encode(IDS)) {
            return o.lastHiddenState().toFloatArray();
        }
    }

    @Test
    void float16CheckpointOfFloat16ExactWeightsGivesTheSameOutput() throws IOException {
        // the fixture's weights are float16-exact (sd-pipeline-tiny meta), so F16 storage loses nothing
        assertArrayEquals(lastHidden(SD), lastHidden(rewrite("f16", DType.F16, false, b -> b)));
    }

    @Test
    void bfloat16CheckpointDecodesToTheSameValuesAsTheirFloat32() throws IOException {
        IntUnaryOperator truncate = b -> b & 0xFFFF0000;   // values a bf16 file holds exactly
        float[] f32 = lastHidden(rewrite("f32-truncated", DType.F32, false, truncate));
        float[] bf16 = lastHidden(rewrite("bf16", DType.BF16, false, truncate));
        assertArrayEquals(f32, bf16);
        assertFalse(java.util.Arrays.equals(f32, lastHidden(SD)), "truncation changed the weights");
    }

    @Test
    void positionIdsBufferIsIgnored() throws IOException {
        assertArrayEquals(lastHidden(SD), lastHidden(rewrite("posids", DType.F32, true, b -> b)));
    }

    @Test
    void configProblemsNameTheFileAndField() throws IOException {
        String base = Files.readString(SD.resolve("config.json"));
        record Bad(String from, String to, String field) {
        }
        for (Bad bad : new Bad[]{
                new Bad("\"hidden_size\": 32", "\"hidden_size\": 30", "hidden_size"),
                new Bad("\"hidden_act\": \"quick_gelu\"", "\"hidden_act\": \"relu\"", "hidden_act"),
                new Bad("\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": -1", "layer_norm_eps"),
                new Bad("\"num_hidden_layers\": 3", "\"num_hidden_layers\": -3", "num_hidden_layers"),
                new Bad("\"vocab_size\": 49408", "\"vocab_size\": \"many\"", "vocab_size"),
                new Bad("\"max_position_embeddings\": 77", "\"max_position_embeddings\": 0", "max_position_embeddings")}) {
            assertTrue(base.contains(bad.from), bad.from);
            Path dir = Files.createDirectories(tmp.resolve("cfg-" + bad.field));
            Files.writeString(dir.resolve("config.json"), base.replace(bad.from, bad.to));
            Files.copy(SD.resolve("model.safetensors"), dir.resolve("model.safetensors"));
            ConfigException e = assertThrows(ConfigException.class, () -> ClipTextModel.load(dir, new ReferenceKernels()));
            assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains(bad.field), e.getMessage());
        }
    }

    @Test
    void checkpointNotMatchingTheConfigListsEveryProblem() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("four-layers"));
        Files.writeString(dir.resolve("config.json"), Files.readString(SD.resolve("config.json"))
                .replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4"));
        Files.copy(SD.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> ClipTextModel.load(dir, new ReferenceKernels()));
        assertEquals(16, e.problems().size(), e.getMessage()); // layer 3: 4 norm tensors, 4 attention weights + 4 biases, 2 fc x 2
        assertTrue(e.getMessage().contains("missing    text_model.encoder.layers.3.self_attn.q_proj.weight (expected [32, 32])"), e.getMessage());
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Path noWeights = Files.createDirectories(tmp.resolve("no-weights"));
        Files.copy(SD.resolve("config.json"), noWeights.resolve("config.json"));
        ModelException e = assertThrows(ModelException.class, () -> ClipTextModel.load(noWeights, new ReferenceKernels()));
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        Path noConfig = Files.createDirectories(tmp.resolve("no-config"));
        e = assertThrows(ModelException.class, () -> ClipTextModel.load(noConfig, new ReferenceKernels()));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
        Path corrupt = Files.createDirectories(tmp.resolve("corrupt"));
        Files.copy(SD.resolve("config.json"), corrupt.resolve("config.json"));
        Files.write(corrupt.resolve("model.safetensors"), new byte[]{1, 2, 3});
        IOException c = assertThrows(IOException.class, () -> ClipTextModel.load(corrupt, new ReferenceKernels()));
        assertTrue(c.getMessage().contains("model.safetensors"), c.getMessage());
        assertThrows(ModelException.class, () -> ClipTextModelWithProjection.load(SD, new ReferenceKernels()));
    }

    @Test
    void badCallsAreRefusedClearly() throws IOException {
        try (ClipTextModel m = ClipTextModel.load(SD, new ReferenceKernels())) {
            assertMessage(() -> m.encode(new int[][]{{49406, 49408}}), "49408 is outside the vocabulary 0..49407");
            assertMessage(() -> m.encode(new int[][]{{49406, -1}}), "-1 is outside the vocabulary");
            assertMessage(() -> m.encode(new int[][]{{1, 2}, {1}}), "row 1 has 1 tokens");
            assertMessage(() -> m.encode(new int[][]{new int[78]}), "78 tokens");
            assertMessage(() -> m.encode(new int[][]{{}}), "0 tokens");
            assertMessage(() -> m.encode(new int[0][]), "at least one row");
            assertMessage(() -> m.encode(null), "at least one row");
            assertMessage(() -> m.encode(new int[][]{{1, 2}}, new int[][]{{1, 2}}), "expected 0 or 1");
            assertMessage(() -> m.encode(new int[][]{{1, 2}}, new int[][]{{1}}), "must have 2 entries");
            assertMessage(() -> m.encode(new int[][]{{1, 2}}, new int[][]{{1, 1}, {1, 1}}), "2 rows");
            m.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> m.encode(IDS));
            assertTrue(closed.getMessage().contains("closed"));
        }
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
