package dev.unet4j.e2e.reliability;

import dev.unet4j.cli.Main;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Command lines and files that used to end in an internal error (NPE, NegativeArraySizeException, OutOfMemoryError
 * with a stack trace) or silently lose output: each is now a one-line refusal with exit 1, before allocating.
 */
class CliRefusalsTest {
    @TempDir
    Path dir;

    @Test
    void absurdCountsAreRefusedBeforeAllocating() {
        Path model = Fixtures.model("digits-16");
        CliRun.run("bench", "--model", model, "--batch", Integer.MAX_VALUE).refused("--batch must be 1..1024, got 2147483647");
        CliRun.run("bench", "--model", model, "--generations", Integer.MAX_VALUE, "--steps", 2)
                .refused("--generations must be 1..100000, got 2147483647");
        CliRun.run("bench", "--model", model, "--iterations", Integer.MAX_VALUE).refused("--iterations must be 1..100000");
        CliRun.run("bench", "--model", model, "--warmup", Integer.MAX_VALUE).refused("--warmup must be 0..100000");
        CliRun.run("bench", "--model", model, "--size", "16384x16384", "--batch", 1024)
                .refused("latents [1024, 1, 16384, 16384] need", "more than a quarter of the");
        CliRun.run("bench", "--model", model, "--size", "100000").refused("sample size 100000x100000 is outside 1..16384");
        CliRun.run("generate", "--model", model, "--per-class", Integer.MAX_VALUE).refused("--per-class must be 1..256, got 2147483647");
        CliRun.run("generate", "--model", model, "--steps", Integer.MAX_VALUE).refused("--steps must be 1..10000");
    }

    @Test
    void outputPathsThatAreFoldersOrCollideAreRefused() throws IOException {
        CliRun.run("generate", "--out", "/").refused("--out / is a folder");
        CliRun.run("generate", "--out", dir).refused("--out " + dir + " is a folder");
        Path out = dir.resolve("t.safetensors");
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 1, "--out", out,
                "--trajectory-out", dir.resolve(".").resolve("t.safetensors")).refused("--trajectory-out and --out are the same file");
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 1, "--out", out, "--trajectory-out", dir)
                .refused("--trajectory-out " + dir + " is a folder");
        assertFalse(Files.exists(out));
    }

    @Test
    void untrustedSchedulerConfigSizesAreRefused() throws IOException {
        Path cfg = dir.resolve("scheduler_config.json");
        Files.writeString(cfg, "{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 2147483647}");
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 1, "--scheduler-config", cfg,
                "--out", dir.resolve("x.png")).refused(cfg + ": num_train_timesteps must be 2..100000, got 2147483647");
        Files.writeString(cfg, "{\"_class_name\": \"DDIMScheduler\", \"beta_end\": 1.5}");
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--class-label", 1, "--scheduler-config", cfg,
                "--out", dir.resolve("x.png")).refused("every beta must be in (0, 1)");
        assertFalse(Files.exists(dir.resolve("x.png")));
    }

    /** A 99 MB safetensors header, in a child JVM with a 512 MB heap: refused by the header cap, within the heap. */
    @Test
    void aHugeSafetensorsHeaderIsRefusedInA512MbHeap() throws Exception {
        Path model = dir.resolve("huge-header");
        Files.createDirectories(model);
        Files.copy(Fixtures.fixture("unet2d-ddpm-tiny").resolve("config.json"), model.resolve("config.json"));
        int n = 99_000_000;
        try (OutputStream o = Files.newOutputStream(model.resolve("diffusion_pytorch_model.safetensors"))) {
            o.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n).array());
            byte[] head = "{\"__metadata__\": {\"x\": \"".getBytes(StandardCharsets.US_ASCII);
            byte[] tail = "\"}}".getBytes(StandardCharsets.US_ASCII);
            o.write(head);
            byte[] a = new byte[1 << 20];
            java.util.Arrays.fill(a, (byte) 'a');
            long left = n - head.length - tail.length;
            while (left > 0) {
                int k = (int) Math.min(a.length, left);
                o.write(a, 0, k);
                left -= k;
            }
            o.write(tail);
        }
        ChildJvm.Result r = ChildJvm.run(Map.of(), 120, Main.class, "inspect", "--model", model.toString());
        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().contains("header length 99000000 exceeds the limit of 16777216 bytes"), r.toString());
        assertTrue(r.err().strip().split("\\R").length <= 3 && !r.err().contains("\tat "), r.toString());
    }
}
