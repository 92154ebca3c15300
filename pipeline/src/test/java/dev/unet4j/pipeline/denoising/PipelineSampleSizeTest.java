package dev.unet4j.pipeline.denoising;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A generation without a size takes the config's {@code sample_size}, for text-conditional UNets as for pixel ones. */
class PipelineSampleSizeTest {
    private static final DdimSampler DDIM = DdimSampler.fromConfig(SchedulerConfig.defaults());

    @Test
    void bothUNetClassesTakeTheirSampleSize() throws IOException {
        // both fixtures' config.json say "sample_size": 16; sd-tiny is a UNet2DConditionModel with 4 latent channels
        try (UNetModel sd = UNetModel.load(Fixtures.fixture("unet2d-cond-sd-tiny"), LoadOptions.of(new ReferenceKernels()));
             UNetModel ddpm = UNetModel.load(Fixtures.fixture("unet2d-ddpm-tiny"), LoadOptions.of(new ReferenceKernels()))) {
            assertArrayEquals(new int[] {1, 4, 16, 16}, Pipeline.of(sd, DDIM).shape(Generation.of(2)));
            assertArrayEquals(new int[] {1, 3, 16, 16}, Pipeline.of(ddpm, DDIM).shape(Generation.of(2)));
            assertArrayEquals(new int[] {1, 4, 8, 24}, Pipeline.of(sd, DDIM).shape(Generation.of(2).size(8, 24)));
        }
    }

    @Test
    void aHeightWidthSampleSizeAndNoneAtAll() throws IOException {
        String json = Files.readString(Fixtures.fixture("unet2d-cond-sd-tiny/config.json"));
        String rect = json.replace("\"sample_size\": 16", "\"sample_size\": [8, 12]");
        try (UNetModel m = UNetModel.build(UNet2DConditionConfig.fromJson(rect), new RandomParameterSource(3), "random",
                LoadOptions.of(new ReferenceKernels()))) {
            assertArrayEquals(new int[] {1, 4, 8, 12}, Pipeline.of(m, DDIM).shape(Generation.of(2)));
        }
        String none = json.replace("\"sample_size\": 16", "\"sample_size\": null");
        try (UNetModel m = UNetModel.build(UNet2DConditionConfig.fromJson(none), new RandomParameterSource(3), "random",
                LoadOptions.of(new ReferenceKernels()))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pipeline.of(m, DDIM).shape(Generation.of(2)));
            assertEquals("the model's config gives no sample_size; set it with Generation.size(h, w)", e.getMessage());
        }
    }
}
