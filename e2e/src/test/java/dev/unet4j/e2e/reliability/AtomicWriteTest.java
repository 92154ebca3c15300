package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.quantization.nn.QuantizationPlan;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A failure while saving (disk full mid-stream, a failing second file) leaves no partial file behind. */
class AtomicWriteTest {
    @TempDir
    Path dir;

    private List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A tensor source that streams half its bytes, then fails as a full disk does. */
    private static SafetensorsWriter.DataSource diskFullAfter(int bytes) {
        return out -> {
            out.write(ByteBuffer.allocate(bytes));
            throw new IOException("No space left on device");
        };
    }

    @Test
    void safetensorsWriteFailingMidStreamLeavesNothing() throws IOException {
        Path target = dir.resolve("model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter().add("a", new float[1024], 1024)
                .add("b", DType.F32, new long[]{4096}, 4096 * 4, diskFullAfter(8000));
        IOException e = assertThrows(IOException.class, () -> w.write(target));
        assertTrue(e.getMessage().contains("No space left"), e.getMessage());
        assertEquals(List.of(), files(dir), "no target and no temporary file");

        // over an existing file: the old file stays whole
        new SafetensorsWriter().add("old", new float[]{1, 2, 3}, 3).write(target);
        byte[] before = Files.readAllBytes(target);
        assertThrows(IOException.class, () -> w.write(target));
        assertEquals(List.of("model.safetensors"), files(dir));
        assertArrayEquals(before, Files.readAllBytes(target));
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(List.of("old"), f.names());
        }
    }

    @Test
    void quantizedCheckpointFailingMidSaveLeavesNoPartialCheckpoint() throws IOException {
        QuantizedCheckpoint ckpt = QuantizedCheckpoint.quantize(Fixtures.fixture("unet2d-ddpm-tiny"),
                QuantizationPlan.defaults(WeightQuantizer.int8PerChannel()));
        // the second file of the save fails: config.json cannot be replaced (a folder is in its way)
        Path out = dir.resolve("q");
        Files.createDirectories(out.resolve("config.json").resolve("blocker"));
        assertThrows(IOException.class, () -> ckpt.write(out));
        assertEquals(List.of("config.json"), files(out), "no weights file without its config, no temporary files");

        // and a clean save still works and reads back
        Path ok = dir.resolve("q3");
        ckpt.write(ok);
        assertEquals(List.of("config.json", "diffusion_pytorch_model.safetensors"), files(ok));
        assertEquals(ckpt.parameterNames(), QuantizedCheckpoint.read(ok).parameterNames());
    }
}
