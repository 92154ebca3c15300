package dev.unet4j.core.checkpoint;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The files of one diffusers model (typically a UNet), as found by {@link ModelLocator}.
 *
 * @param folder          the folder holding {@code config.json} and the weights
 * @param configJson      the model's {@code config.json}
 * @param weightFiles     the safetensors file, or the shards in index order (paths as found, links not resolved)
 * @param weightIndex     the {@code *.safetensors.index*.json} of sharded weights
 * @param weightMap       tensor name to shard, from the index (empty for a single file)
 * @param schedulerConfig {@code scheduler_config.json} next to the config or in the pipeline's {@code scheduler/}
 * @param variant         the weight variant chosen ({@code "fp16"}, ...), if any
 */
public record ModelFiles(Path folder, Path configJson, List<Path> weightFiles, Optional<Path> weightIndex,
                         Map<String, Path> weightMap, Optional<Path> schedulerConfig, Optional<String> variant) {
    public ModelFiles {
        weightFiles = List.copyOf(weightFiles);
        weightMap = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(weightMap));
    }

    public boolean isSharded() {
        return weightIndex.isPresent();
    }
}
