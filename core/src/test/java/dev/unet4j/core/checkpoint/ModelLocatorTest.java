package dev.unet4j.core.checkpoint;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static dev.unet4j.core.checkpoint.DiffusersConfigTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every supported layout, built in temporary folders from the golden files. */
class ModelLocatorTest {
    private static final String WEIGHTS = "diffusion_pytorch_model.safetensors";

    @TempDir
    Path tmp;

    private static Path fixtureConfig() {
        return Fixtures.fixture("unet2d-ddpm-tiny/config.json");
    }

    private static Path fixtureWeights() {
        return Fixtures.fixture("unet2d-ddpm-tiny/" + WEIGHTS);
    }

    /** A model folder: config.json + weights. */
    private Path unetFolder(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.copy(fixtureConfig(), dir.resolve("config.json"));
        Files.copy(fixtureWeights(), dir.resolve(WEIGHTS));
        return dir;
    }

    private static void writeSmall(Path file, String tensor) throws IOException {
        new SafetensorsWriter().addRaw(tensor, DType.F16, new long[]{2}, new byte[]{0, 0x3c, 0, 0x40}).write(file);
    }

    @Test
    void plainUnetFolder() throws IOException {
        Path dir = unetFolder(tmp.resolve("unet"));
        ModelFiles m = ModelLocator.locate(dir);
        assertEquals(dir, m.folder());
        assertEquals(dir.resolve("config.json"), m.configJson());
        assertEquals(List.of(dir.resolve(WEIGHTS)), m.weightFiles());
        assertEquals(Optional.empty(), m.schedulerConfig());
        assertFalse(m.isSharded());
        assertEquals(Optional.empty(), m.variant());
    }

    @Test
    void theDemoModelFolderHasItsSchedulerConfigBesideTheConfig() throws IOException {
        Path dir = Fixtures.model("digits-16");
        ModelFiles m = ModelLocator.locate(dir);
        assertEquals(Optional.of(dir.toAbsolutePath().normalize().resolve("scheduler_config.json")), m.schedulerConfig());
        assertEquals(1, m.weightFiles().size());
        assertEquals("UNet2DModel", DiffusersConfig.load(m.configJson()).className());
    }

    @Test
    void pipelineFolder() throws IOException {
        Path pipe = tmp.resolve("pipe");
        unetFolder(pipe.resolve("unet"));
        Files.createDirectories(pipe.resolve("scheduler"));
        Files.copy(Fixtures.model("digits-16/scheduler_config.json"), pipe.resolve("scheduler/scheduler_config.json"));
        Files.writeString(pipe.resolve("model_index.json"), "{\"_class_name\":\"DDPMPipeline\"}");
        for (Path given : List.of(pipe, pipe.resolve("unet"))) {
            ModelFiles m = ModelLocator.locate(given);
            assertEquals(pipe.resolve("unet"), m.folder());
            assertEquals(Optional.of(pipe.resolve("scheduler/scheduler_config.json")), m.schedulerConfig());
        }
        // another component of the pipeline by subfolder
        unetFolder(pipe.resolve("transformer"));
        assertEquals(pipe.resolve("transformer"), ModelLocator.locate(pipe, ModelLocator.Options.defaults().withSubfolder("transformer")).folder());
    }

    /** models--ORG--NAME/{blobs,refs/main,snapshots/REV/...} with every file a relative link into blobs/. */
    private Path hubCache(Path cache, String rev, boolean writeRef) throws IOException {
        Path repo = cache.resolve("models--acme--tiny-ddpm");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(rev));
        Files.createDirectories(snap.resolve("unet"));
        Files.createDirectories(snap.resolve("scheduler"));
        if (!Files.exists(blobs.resolve("aaa111"))) {
            Files.copy(fixtureConfig(), blobs.resolve("aaa111"));
            Files.copy(fixtureWeights(), blobs.resolve("bbb222"));
            Files.copy(Fixtures.model("digits-16/scheduler_config.json"), blobs.resolve("ccc333"));
            Files.writeString(blobs.resolve("ddd444"), "{\"_class_name\":\"DDPMPipeline\"}");
        }
        Files.createSymbolicLink(snap.resolve("unet/config.json"), Path.of("../../../blobs/aaa111"));
        Files.createSymbolicLink(snap.resolve("unet").resolve(WEIGHTS), Path.of("../../../blobs/bbb222"));
        Files.createSymbolicLink(snap.resolve("scheduler/scheduler_config.json"), Path.of("../../../blobs/ccc333"));
        Files.createSymbolicLink(snap.resolve("model_index.json"), Path.of("../../blobs/ddd444"));
        if (writeRef) {
            Files.createDirectories(repo.resolve("refs"));
            Files.writeString(repo.resolve("refs/main"), rev + "\n");
        }
        return repo;
    }

    @Test
    void huggingFaceCacheSnapshotWithLinksIntoBlobs() throws IOException {
        String rev = "0123456789abcdef0123456789abcdef01234567";
        Path repo = hubCache(tmp.resolve("hub"), rev, true);
        Path snapUnet = repo.resolve("snapshots").resolve(rev).resolve("unet");
        for (Path given : List.of(repo, repo.resolve("snapshots").resolve(rev), snapUnet)) {
            ModelFiles m = ModelLocator.locate(given);
            assertEquals(snapUnet, m.folder());
            assertEquals(List.of(snapUnet.resolve(WEIGHTS)), m.weightFiles()); // the link path, not the blob
            assertEquals(Optional.of(snapUnet.resolveSibling("scheduler").resolve("scheduler_config.json")), m.schedulerConfig());
            try (WeightSource w = WeightSource.open(m); SafetensorsFile direct = SafetensorsFile.open(fixtureWeights())) {
                assertEquals(direct.names(), List.copyOf(w.names()));
            }
        }
        assertEquals(List.of(32, 64, 64), DiffusersConfig.load(ModelLocator.locate(repo).configJson())
                .getIntList("block_out_channels", List.of()));
    }

    @Test
    void huggingFaceCacheSnapshotChoice() throws IOException {
        Path cache = tmp.resolve("hub");
        Path repo = hubCache(cache, "rev1", false);
        assertTrue(ModelLocator.locate(repo).folder().startsWith(repo.resolve("snapshots/rev1"))); // the only snapshot
        hubCache(cache, "rev2", false);
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(repo)), repo.toString(), "2 snapshots", "rev1", "rev2");
        assertTrue(ModelLocator.locate(repo, ModelLocator.Options.defaults().withRevision("rev2")).folder().startsWith(repo.resolve("snapshots/rev2")));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), "rev1");
        assertTrue(ModelLocator.locate(repo).folder().startsWith(repo.resolve("snapshots/rev1")));
        Files.writeString(repo.resolve("refs/main"), "../../elsewhere");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(repo)), "refs/main", "not in snapshots/");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(repo, ModelLocator.Options.defaults().withRevision("nope"))), "'nope'");
    }

    @Test
    void linksLeavingTheModelRootAreRefused() throws IOException {
        Path outside = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.copy(fixtureWeights(), outside.resolve("weights.bin"));
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.copy(fixtureConfig(), dir.resolve("config.json"));
        Files.createSymbolicLink(dir.resolve(WEIGHTS), outside.resolve("weights.bin"));
        ModelException e = assertThrows(ModelException.class, () -> ModelLocator.locate(dir));
        assertMessage(e, dir.resolve(WEIGHTS).toString(), "outside the model root", outside.resolve("weights.bin").toString());
        ModelFiles allowed = ModelLocator.locate(dir, ModelLocator.Options.defaults().withSymlinksOutside(true));
        assertEquals(List.of(dir.resolve(WEIGHTS)), allowed.weightFiles());

        // in a hub cache, a "blob" link that leaves models--ORG--NAME is refused as well
        String rev = "r";
        Path repo = hubCache(tmp.resolve("hub"), rev, true);
        Path unet = repo.resolve("snapshots/r/unet");
        Files.delete(unet.resolve(WEIGHTS));
        Files.createSymbolicLink(unet.resolve(WEIGHTS), Path.of("../../../../../elsewhere/weights.bin"));
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(repo)), "outside the model root");
        // a link inside the model folder itself is fine
        Path inside = Files.createDirectories(tmp.resolve("model2"));
        Files.copy(fixtureConfig(), inside.resolve("config.json"));
        Files.copy(fixtureWeights(), inside.resolve("real.safetensors"));
        Files.createSymbolicLink(inside.resolve(WEIGHTS), Path.of("real.safetensors"));
        assertEquals(List.of(inside.resolve(WEIGHTS)), ModelLocator.locate(inside).weightFiles());
    }

    @Test
    void variants() throws IOException {
        Path dir = unetFolder(tmp.resolve("unet"));
        writeSmall(dir.resolve("diffusion_pytorch_model.fp16.safetensors"), "w");
        ModelFiles fp16 = ModelLocator.locate(dir, ModelLocator.Options.defaults().withVariant("fp16"));
        assertEquals(List.of(dir.resolve("diffusion_pytorch_model.fp16.safetensors")), fp16.weightFiles());
        assertEquals(Optional.of("fp16"), fp16.variant());
        assertEquals(List.of(dir.resolve(WEIGHTS)), ModelLocator.locate(dir).weightFiles());

        ModelException missing = assertThrows(ModelException.class,
                () -> ModelLocator.locate(dir, ModelLocator.Options.defaults().withVariant("bf16")));
        assertMessage(missing, dir.toString(), "'bf16' variant", "diffusion_pytorch_model.bf16.safetensors",
                "diffusion_pytorch_model.safetensors.index.bf16.json",
                "present: diffusion_pytorch_model.fp16.safetensors, diffusion_pytorch_model.safetensors");

        Path onlyFp16 = Files.createDirectories(tmp.resolve("only"));
        Files.copy(fixtureConfig(), onlyFp16.resolve("config.json"));
        writeSmall(onlyFp16.resolve("diffusion_pytorch_model.fp16.safetensors"), "w");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(onlyFp16)),
                "no weights", "diffusion_pytorch_model.fp16.safetensors", "choose a variant");

        Path pickles = Files.createDirectories(tmp.resolve("pickles"));
        Files.copy(fixtureConfig(), pickles.resolve("config.json"));
        Files.writeString(pickles.resolve("diffusion_pytorch_model.bin"), "x");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(pickles)), "diffusion_pytorch_model.bin", "convert them to safetensors");
    }

    @Test
    void missingFoldersAndConfigs() throws IOException {
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(tmp.resolve("nope"))), "nope", "does not exist");
        Path file = Files.writeString(tmp.resolve("file.txt"), "x");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(file)), "not a folder");
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("README.md"), "x");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(empty)), empty.toString(), "config.json", "unet/", "README.md");
    }

    @Test
    void shardedWeights() throws IOException {
        Path dir = ShardFolders.sharded(tmp.resolve("sharded"), fixtureConfig(), fixtureWeights(), 3);
        ModelFiles m = ModelLocator.locate(dir);
        assertTrue(m.isSharded());
        assertEquals(Optional.of(dir.resolve(ShardFolders.INDEX)), m.weightIndex());
        assertEquals(List.of(dir.resolve(ShardFolders.shardName(1, 3)), dir.resolve(ShardFolders.shardName(2, 3)),
                dir.resolve(ShardFolders.shardName(3, 3))), m.weightFiles());
        try (SafetensorsFile whole = SafetensorsFile.open(fixtureWeights())) {
            assertEquals(whole.names().size(), m.weightMap().size());
        }
        // the index wins over a single file, as in diffusers
        Files.copy(fixtureWeights(), dir.resolve(WEIGHTS));
        assertTrue(ModelLocator.locate(dir).isSharded());
    }

    @Test
    void brokenShardIndexes() throws IOException {
        Path dir = ShardFolders.sharded(tmp.resolve("s"), fixtureConfig(), fixtureWeights(), 2);
        Path index = dir.resolve(ShardFolders.INDEX);
        String good = Files.readString(index);

        Files.delete(dir.resolve(ShardFolders.shardName(2, 2)));
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir)), index.toString(),
                ShardFolders.shardName(2, 2), "does not exist");

        Files.writeString(index, "{\"weight_map\":{\"a\":\"../x.safetensors\"}}");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir)), "'a'", "not a file name");
        Files.writeString(index, "{\"weight_map\":{\"a\":3}}");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir)), "'a'", "expected a shard file name");
        Files.writeString(index, "{\"metadata\":{}}");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir)), "weight_map");
        Files.writeString(index, "{\"weight_map\":{}");
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir)), "not valid JSON");
        Files.writeString(index, good);
    }

    @Test
    void shardedVariant() throws IOException {
        Path dir = ShardFolders.sharded(tmp.resolve("v"), fixtureConfig(), fixtureWeights(), 2);
        assertMessage(assertThrows(ModelException.class, () -> ModelLocator.locate(dir, ModelLocator.Options.defaults().withVariant("fp16"))),
                "diffusion_pytorch_model.safetensors.index.fp16.json", ShardFolders.INDEX);
        Files.move(dir.resolve(ShardFolders.INDEX), dir.resolve("diffusion_pytorch_model.safetensors.index.fp16.json"));
        ModelFiles m = ModelLocator.locate(dir, ModelLocator.Options.defaults().withVariant("fp16"));
        assertEquals(Optional.of("fp16"), m.variant());
        assertEquals(2, m.weightFiles().size());
    }

    @Test
    void variantNamingFollowsDiffusers() {
        assertEquals("diffusion_pytorch_model.fp16.safetensors", ModelLocator.withVariant("diffusion_pytorch_model.safetensors", "fp16"));
        assertEquals("diffusion_pytorch_model.safetensors.index.fp16.json",
                ModelLocator.withVariant("diffusion_pytorch_model.safetensors.index.json", "fp16"));
        assertEquals("config.json", ModelLocator.withVariant("config.json", null));
    }
}
