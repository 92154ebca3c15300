package dev.unet4j.unet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Finds a UNet's {@code config.json} and weights in a model, pipeline or Hugging Face cache folder. */
record ModelFolder(Path config, Path weights) {

    static ModelFolder locate(Path path, String variant) throws IOException {
        Path dir = path;
        if (Files.isRegularFile(dir)) dir = dir.getParent();
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(path + " (expected a diffusers model folder)");
        if (Files.isDirectory(dir.resolve("snapshots"))) dir = latestSnapshot(dir.resolve("snapshots"));
        if (!Files.exists(dir.resolve("config.json")) && Files.isDirectory(dir.resolve("unet"))) dir = dir.resolve("unet");
        Path config = dir.resolve("config.json");
        if (!Files.exists(config)) throw new NoSuchFileException(config + " (no UNet config in " + path + ")");
        String file = "diffusion_pytorch_model" + (variant == null ? "" : "." + variant) + ".safetensors";
        Path weights = dir.resolve(file);
        if (!Files.exists(weights)) {
            throw new NoSuchFileException(weights + (Files.exists(dir.resolve(file + ".index.json"))
                    ? " (sharded checkpoints are not supported yet)" : " (no weights for variant " + variant + ")"));
        }
        return new ModelFolder(config, weights);
    }

    private static Path latestSnapshot(Path snapshots) throws IOException {
        try (Stream<Path> s = Files.list(snapshots)) {
            return s.filter(Files::isDirectory)
                    .max((a, b) -> {
                        try {
                            return Files.getLastModifiedTime(a).compareTo(Files.getLastModifiedTime(b));
                        } catch (IOException e) {
                            return 0;
                        }
                    })
                    .orElseThrow(() -> new NoSuchFileException(snapshots + " has no snapshot"));
        }
    }
}
