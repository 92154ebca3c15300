package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** encode-prompt against the ids and embeddings diffusers' pipeline used (sd-pipeline-tiny case a_ddim). */
class EncodePromptCommandTest {
    @TempDir
    Path dir;

    static {
        System.setProperty("unet4j.cache", Path.of("target", "unet4j-cache").toAbsolutePath().toString());
    }

    @Test
    void idsAndEmbeddingsAsTheFixture() throws IOException {
        Path tiny = Fixtures.fixture("sd-pipeline-tiny");
        Path out = dir.resolve("p.safetensors");
        Cli.Result r = Cli.run("encode-prompt", "--model", tiny, "--prompt", "a photo of an astronaut riding a horse on mars",
                "--output", out).assertOk();
        assertTrue(r.out().contains("tokens (10): a</w> photo</w> of</w> an</w> astronaut</w>"), r.out());
        assertTrue(r.out().contains("input_ids (77, padded with 49407): 49406 320 1125 "), r.out());
        try (SafetensorsFile ours = SafetensorsFile.open(out);
             SafetensorsFile ref = SafetensorsFile.open(tiny.resolve("cases/a_ddim/outputs.safetensors"));
             Tensor e = ours.load("prompt_embeds"); Tensor x = ref.load("prompt_embeds")) {
            assertArrayEquals(ref.readLongs("text_encoder_input_ids.0"), ours.readLongs("input_ids"));
            float[] a = e.toFloatArray(), b = x.toFloatArray();
            double worst = 0, max = 0;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]));
                max = Math.max(max, Math.abs(b[i]));
            }
            assertTrue(worst <= 1e-4 * max, "prompt_embeds differ by " + worst);
        }
    }

    @Test
    void tokenizerFolderAndDemo() throws IOException {
        Path out = dir.resolve("t.safetensors");
        Cli.run("encode-prompt", "--model", Fixtures.fixture("sd-pipeline-tiny/tokenizer"), "--prompt", "a horse", "--output", out).assertOk();
        try (SafetensorsFile f = SafetensorsFile.open(out)) {
            assertFalse(f.contains("prompt_embeds"));
            assertTrue(f.contains("input_ids"));
        }
        Cli.Result demo = Cli.run("encode-prompt", "--prompt", "a handwritten seven").assertOk();
        assertTrue(demo.out().contains("tokens (3): a</w> handwritten</w> seven</w>") && demo.out().contains("prompt_embeds [1, 77, 64]"), demo.out());
        Cli.run("encode-prompt", "--prompt", "x", "--output", dir.resolve("x.png")).assertError(1, ".safetensors");
        Cli.run("encode-prompt", "--model", dir.resolve("nothing"), "--prompt", "x").assertError(1, "nothing");
    }

    /** --prompt-syntax: the windows and weights as the tokenizer's fixture ids give them (a 320, cat 2368, dog 1929). */
    @Test
    void windowsAndWeights() throws IOException {
        Path out = dir.resolve("w.safetensors");
        Cli.Result r = Cli.run("encode-prompt", "--model", Fixtures.fixture("clip-tokenizer"), "--prompt", "a (cat:1.5) dog",
                "--prompt-syntax", "weighted", "--output", out).assertOk();
        assertTrue(r.out().contains("window 0 weights (position:weight): 2:1.5"), r.out());
        try (SafetensorsFile f = SafetensorsFile.open(out); Tensor w = f.load("weights")) {
            long[] ids = f.readLongs("input_ids");
            assertArrayEquals(new long[] {49406, 320, 2368, 1929, 49407}, java.util.Arrays.copyOf(ids, 5));
            assertArrayEquals(new long[] {1, 77}, w.shape());
            float[] want = new float[77];
            java.util.Arrays.fill(want, 1f);
            want[2] = 1.5f;
            assertArrayEquals(want, w.toFloatArray());
        }
        Path longOut = dir.resolve("l.safetensors");
        Cli.Result l = Cli.run("encode-prompt", "--prompt", "a handwritten seven, ".repeat(30), "--prompt-syntax", "long",
                "--output", longOut).assertOk();
        assertTrue(l.out().contains("window 1 input_ids") && l.out().contains("prompt_embeds [1, 154, 64]"), l.out());
        try (SafetensorsFile f = SafetensorsFile.open(longOut)) {
            assertArrayEquals(new long[] {2, 77}, f.info("input_ids").shape());
            assertFalse(f.contains("weights"));
        }
    }
}
