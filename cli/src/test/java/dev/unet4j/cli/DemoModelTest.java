package dev.unet4j.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoModelTest {
    @TempDir
    Path cache;

    private String previous;

    @AfterEach
    void restore() {
        if (previous != null) System.setProperty("unet4j.cache", previous);
    }

    private Path extractInto(Path root) {
        previous = System.getProperty("unet4j.cache");
        System.setProperty("unet4j.cache", root.toString());
        return DemoModel.folder();
    }

    @Test
    void extractsVerifiedFilesOnceAndRepairsADamagedCopy() throws IOException {
        Path folder = extractInto(cache);
        assertTrue(folder.getFileName().toString().matches("demo-digits-[0-9a-f]{12}"), folder.toString());
        byte[] weights;
        try (InputStream in = DemoModel.class.getResourceAsStream("/dev/unet4j/cli/demo-digits/diffusion_pytorch_model.safetensors")) {
            weights = in.readAllBytes();
        }
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("diffusion_pytorch_model.safetensors")));
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(folder), s.toList(), "no temporary folders left");
        }
        // a truncated file is detected by its hash and the copy replaced
        Files.write(folder.resolve("diffusion_pytorch_model.safetensors"), new byte[10]);
        assertEquals(folder, DemoModel.folder());
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("diffusion_pytorch_model.safetensors")));
    }

    @Test
    void demoConfigIsRecognisedByContent() throws IOException {
        Path folder = extractInto(cache);
        assertTrue(DemoModel.isDemoConfig(Files.readAllBytes(folder.resolve("config.json"))));
        assertTrue(!DemoModel.isDemoConfig("{}".getBytes()));
    }

    @Test
    void progressBarRendersStepsRateAndEta() {
        assertEquals("gen [##############..............] 5/10 steps  2.5 it/s  ETA 2.0s ", ProgressBar.render(5, 10, 2.0, "gen"));
        assertEquals("[############################] 10/10 steps  5.0 it/s  2.0s ", ProgressBar.render(10, 10, 2.0, null));
    }
}
