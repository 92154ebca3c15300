package dev.unet4j.demo;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DemoModelsTest {
    @TempDir
    Path cache;

    private String previous;

    @BeforeEach
    void useTempCache() {
        previous = System.getProperty("unet4j.cache");
        System.setProperty("unet4j.cache", cache.toString());
    }

    @AfterEach
    void restore() {
        if (previous != null) System.setProperty("unet4j.cache", previous);
        else System.clearProperty("unet4j.cache");
    }

    private static byte[] resource(String path) throws IOException {
        try (InputStream in = DemoModelsTest.class.getResourceAsStream(path)) {
            return in.readAllBytes();
        }
    }

    @Test
    void digitsAreExtractedOnceVerifiedAndRepaired() throws IOException {
        Path folder = DemoModels.digits();
        assertEquals(cache, folder.getParent());
        assertTrue(folder.getFileName().toString().matches("demo-digits-[0-9a-f]{12}"), folder.toString());
        byte[] weights = resource("/dev/unet4j/demo/digits/diffusion_pytorch_model.safetensors");
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("diffusion_pytorch_model.safetensors")));
        try (Stream<Path> s = Files.list(cache)) {
            assertEquals(List.of(folder), s.toList(), "no temporary folders left");
        }
        // a truncated file is detected by its hash and the copy replaced
        Files.write(folder.resolve("diffusion_pytorch_model.safetensors"), new byte[10]);
        assertEquals(folder, DemoModels.digits());
        assertArrayEquals(weights, Files.readAllBytes(folder.resolve("diffusion_pytorch_model.safetensors")));
    }

    @Test
    void digitsConfigIsRecognisedByContent() throws IOException {
        assertTrue(DemoModels.isDigitsConfig(Files.readAllBytes(DemoModels.digits().resolve("config.json"))));
        assertFalse(DemoModels.isDigitsConfig("{}".getBytes()));
    }

    @Test
    void textPipelineFolderHasEveryComponent() throws IOException {
        Path folder = DemoModels.text();
        assertTrue(folder.getFileName().toString().matches("demo-text-[0-9a-f]{12}"), folder.toString());
        assertArrayEquals(resource("/dev/unet4j/demo/text/model_index.json"), Files.readAllBytes(folder.resolve("model_index.json")));
        for (String part : List.of("unet/config.json", "vae/config.json", "text_encoder/config.json", "scheduler/scheduler_config.json")) {
            assertArrayEquals(resource("/dev/unet4j/demo/text/" + part), Files.readAllBytes(folder.resolve(part)), part);
        }
    }
}
