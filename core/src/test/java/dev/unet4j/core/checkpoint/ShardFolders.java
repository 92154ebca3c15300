package dev.unet4j.core.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test helper (core test-jar): splits a safetensors file into diffusers-style shards with an index. */
public final class ShardFolders {
    public static final String INDEX = "diffusion_pytorch_model.safetensors.index.json";

    private ShardFolders() {
    }

    public static String shardName(int i, int n) {
        return String.format("diffusion_pytorch_model-%05d-of-%05d.safetensors", i, n);
    }

    /** {@code dir} with config.json, {@code shards} shards of {@code weights} (tensors dealt round-robin) and the index. */
    public static Path sharded(Path dir, Path config, Path weights, int shards) throws IOException {
        Files.createDirectories(dir);
        Files.copy(config, dir.resolve("config.json"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode index = json.createObjectNode();
        index.putObject("metadata").put("total_size", Files.size(weights));
        ObjectNode map = index.putObject("weight_map");
        try (SafetensorsFile f = SafetensorsFile.open(weights)) {
            SafetensorsWriter[] writers = new SafetensorsWriter[shards];
            for (int s = 0; s < shards; s++) writers[s] = new SafetensorsWriter().metadata(f.metadata());
            List<String> names = f.names();
            for (int i = 0; i < names.size(); i++) {
                TensorInfo t = f.info(names.get(i));
                writers[i % shards].addRaw(t.name(), t.dtype(), t.shape(), f.slice(t.name()));
                map.put(t.name(), shardName(i % shards + 1, shards));
            }
            for (int s = 0; s < shards; s++) writers[s].write(dir.resolve(shardName(s + 1, shards)));
        }
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(INDEX).toFile(), index);
        return dir;
    }
}
