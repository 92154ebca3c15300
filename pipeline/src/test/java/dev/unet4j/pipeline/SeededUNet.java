package dev.unet4j.pipeline;

import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** A UNet2DConditionModel folder made for tests: {@code config.json} and seeded weights of every tensor it asks for. */
final class SeededUNet {
    private SeededUNet() {
    }

    static Path write(String configJson, long seed, Path folder) throws IOException {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.json"), configJson);
        Map<String, Tensor> made = new LinkedHashMap<>();
        RandomParameterSource random = new RandomParameterSource(seed);
        ParameterSource recording = new ParameterSource() {
            @Override
            public Tensor load(String name, long[] shape) {
                Tensor t = random.load(name, shape);
                if (t != null) made.put(name, t.copy(Allocator.direct()));
                return t;
            }

            @Override
            public Set<String> names() {
                return Set.of();
            }
        };
        UNet2DConditionConfig cfg = UNet2DConditionConfig.fromJson(configJson);
        try (UNetModel m = UNet2DConditionModel.build(cfg, recording, "seeded", LoadOptions.of(new ReferenceKernels()))) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (Map.Entry<String, Tensor> e : made.entrySet()) w.add(e.getKey(), e.getValue().toFloatArray(), e.getValue().shape());
            w.write(folder.resolve("diffusion_pytorch_model.safetensors"));
        } finally {
            made.values().forEach(Tensor::close);
        }
        return folder;
    }
}
