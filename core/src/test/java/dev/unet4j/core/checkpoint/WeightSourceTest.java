package dev.unet4j.core.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.unet4j.core.checkpoint.DiffusersConfigTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class WeightSourceTest {
    @TempDir
    Path tmp;

    private static Path weights() {
        return Fixtures.fixture("unet2d-ddpm-tiny/diffusion_pytorch_model.safetensors");
    }

    @Test
    void shardsServeEveryTensorOfTheWholeFile() throws IOException {
        Path dir = ShardFolders.sharded(tmp.resolve("s"), Fixtures.fixture("unet2d-ddpm-tiny/config.json"), weights(), 3);
        ModelFiles m = ModelLocator.locate(dir);
        try (WeightSource w = WeightSource.open(m); SafetensorsFile whole = SafetensorsFile.open(weights())) {
            assertEquals(whole.names().size(), w.names().size());
            for (String name : whole.names()) {
                assertEquals(whole.info(name).dtype(), w.info(name).dtype());
                assertArrayEquals(whole.info(name).shape(), w.info(name).shape());
                assertEquals(m.weightMap().get(name), w.fileOf(name));
                try (Tensor a = whole.load(name, Allocator.direct()); Tensor b = w.load(name, Allocator.direct())) {
                    assertArrayEquals(a.toFloatArray(), b.toFloatArray(), name);
                }
            }
            assertEquals(3, w.files().size());
        }
    }

    @Test
    void singleFileAndMissingNameHint() throws IOException {
        try (WeightSource w = WeightSource.open(List.of(weights()))) {
            assertEquals(weights(), w.fileOf("conv_in.weight"));
            ModelException e = assertThrows(ModelException.class, () -> w.load("conv_in.wieght", Allocator.direct()));
            assertMessage(e, "'conv_in.wieght'", weights().toString(), "conv_in.bias", "conv_in.weight");
        }
    }

    @Test
    void duplicatesAcrossShardsAreRefused() throws IOException {
        Path a = tmp.resolve("a.safetensors"), b = tmp.resolve("b.safetensors");
        new SafetensorsWriter().addRaw("x", DType.U8, new long[]{1}, new byte[1]).addRaw("y", DType.U8, new long[]{1}, new byte[1]).write(a);
        new SafetensorsWriter().addRaw("y", DType.U8, new long[]{1}, new byte[1]).write(b);
        assertMessage(assertThrows(ModelException.class, () -> WeightSource.open(List.of(a, b))), "'y'", "twice", a.toString(), b.toString());
        assertThrows(ModelException.class, () -> WeightSource.open(List.of()));
    }

    @Test
    void indexAndShardsMustAgree() throws IOException {
        Path dir = ShardFolders.sharded(tmp.resolve("s"), Fixtures.fixture("unet2d-ddpm-tiny/config.json"), weights(), 2);
        Path index = dir.resolve(ShardFolders.INDEX);
        ObjectMapper json = new ObjectMapper();
        ObjectNode good = (ObjectNode) json.readTree(index.toFile());

        ObjectNode swapped = good.deepCopy(); // conv_in.weight is in shard 1
        ((ObjectNode) swapped.get("weight_map")).put("conv_in.weight", ShardFolders.shardName(2, 2));
        write(json, index, swapped);
        assertMessage(assertThrows(ModelException.class, () -> WeightSource.open(ModelLocator.locate(dir))),
                "'conv_in.weight'", "stored in " + ShardFolders.shardName(1, 2));

        ObjectNode extra = good.deepCopy();
        ((ObjectNode) extra.get("weight_map")).put("ghost.weight", ShardFolders.shardName(1, 2));
        write(json, index, extra);
        assertMessage(assertThrows(ModelException.class, () -> WeightSource.open(ModelLocator.locate(dir))),
                "'ghost.weight'", "does not contain it");

        ObjectNode missing = good.deepCopy();
        ((ObjectNode) missing.get("weight_map")).remove("conv_in.bias");
        write(json, index, missing);
        assertMessage(assertThrows(ModelException.class, () -> WeightSource.open(ModelLocator.locate(dir))),
                "'conv_in.bias'", "missing from the shard index");

        write(json, index, good);
        WeightSource.open(ModelLocator.locate(dir)).close();
    }

    private static void write(ObjectMapper json, Path index, ObjectNode node) throws IOException {
        File f = index.toFile();
        json.writeValue(f, node);
    }

    @Test
    void openFailureClosesWhatWasOpened() throws IOException {
        Path bad = Files.write(tmp.resolve("bad.safetensors"), new byte[3]);
        assertThrows(dev.unet4j.core.io.SafetensorsException.class, () -> WeightSource.open(List.of(weights(), bad)));
    }
}
