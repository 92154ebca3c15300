package dev.unet4j.pipeline.checkpoint;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.SafetensorsMutator;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded structure-aware mutations of sd-single-file-tiny (tensors renamed to other or non-existent blocks, reshaped,
 * retyped, dropped, duplicated, poisoned with NaN, offsets shifted), loaded as a whole pipeline: only the documented
 * exceptions escape ({@link IOException} — ModelException, SafetensorsException —, {@link IllegalArgumentException},
 * {@link UnsupportedConfigException}, {@link WeightMismatchException}), each naming the file, and native memory
 * returns to its baseline. {@code -Dunet4j.fuzz.iterations=N} ({@code -Plong}: N/1000 = 200) runs longer than the
 * default 12 (a pipeline load is about a second on a loaded machine).
 */
class HostileCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void mutatedSingleFileCheckpointsFailOnlyWithDocumentedExceptions() throws IOException {
        byte[] seed = Files.readAllBytes(Fixtures.fixture("sd-single-file-tiny").resolve("model.safetensors"));
        Path configs = Fixtures.fixture("sd-pipeline-tiny");
        SafetensorsMutator mutator = new SafetensorsMutator(List.of(".weight", ".bias", ".in_proj_weight"));
        int property = Integer.getInteger("unet4j.fuzz.iterations", 0);
        int iterations = property > 0 ? Math.max(12, property / 1000) : 12;
        SplittableRandom rnd = new SplittableRandom(0xC4EC4L);
        Path file = dir.resolve("mutated.safetensors");
        ReferenceKernels kernels = new ReferenceKernels();
        int loaded = 0, refused = 0;
        long live = NativeBuffer.liveBytes();
        for (int it = 0; it < iterations; it++) {
            StringBuilder what = new StringBuilder("iteration " + it + ": ");
            Files.write(file, mutator.mutate(seed, rnd, what));
            try (SingleFileComponents c = SingleFileComponents.load(file, configs, kernels, null)) {
                assertEquals(LdmModelType.V1, c.type(), what.toString());
                loaded++;
            } catch (IOException | IllegalArgumentException | UnsupportedConfigException | WeightMismatchException e) {
                assertTrue(e.getMessage() != null && e.getMessage().contains("mutated.safetensors"), what + ": " + e.getMessage());
                refused++;
            } catch (Throwable t) {
                throw new AssertionError(what + " escaped with " + t, t);
            }
            assertEquals(live, NativeBuffer.liveBytes(), what + ": native memory not returned");
        }
        System.out.printf("single-file fuzz: %d mutated checkpoints, %d loaded, %d refused%n", iterations, loaded, refused);
        assertTrue(refused > 0, loaded + " loaded, " + refused + " refused");
    }
}
