package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --model file.safetensors --config DIR --lora FILE:SCALE}: sd-single-file-tiny with lora-tiny at 0.8
 * gives lora-tiny's pipeline goldens (diffusers, case a_ddim with the merged UNet and text encoder).
 */
class SingleFileLoraCommandTest {
    @TempDir
    Path dir;

    static String[] args(Path out, Object... extra) {
        Object[] base = {"generate", "--model", Fixtures.fixture("sd-single-file-tiny").resolve("model.safetensors"),
            "--config", Fixtures.fixture("sd-pipeline-tiny"), "--prompt", "a photo of an astronaut riding a horse on mars",
            "--negative-prompt", "blurry, low quality", "--width", 64, "--height", 64, "--steps", 10, "--guidance", 7.5,
            "--seed", 1234, "--scheduler", "ddim", "--out", out};
        String[] s = new String[base.length + extra.length];
        for (int i = 0; i < base.length; i++) s[i] = String.valueOf(base[i]);
        for (int i = 0; i < extra.length; i++) s[base.length + i] = String.valueOf(extra[i]);
        return s;
    }

    @Test
    void singleFileWithLoraGivesTheMergedPipelineGoldens() throws IOException {
        Path out = dir.resolve("out.safetensors");
        Cli.run((Object[]) args(out, "--lora", Fixtures.fixture("lora-tiny").resolve("lora.safetensors") + ":0.8")).assertOk();
        try (SafetensorsFile ours = SafetensorsFile.open(out);
             SafetensorsFile want = SafetensorsFile.open(Fixtures.fixture("lora-tiny").resolve("outputs.safetensors"));
             Tensor a = ours.load("final_latents"); Tensor b = want.load("pipeline.final_latents")) {
            float[] x = a.toFloatArray(), y = b.toFloatArray();
            double max = 0, err = 0;
            for (int i = 0; i < y.length; i++) {
                max = Math.max(max, Math.abs(y[i]));
                err = Math.max(err, Math.abs(x[i] - y[i]));
            }
            System.out.printf("cli single file + lora: final_latents %.2e relative%n", err / max);
            assertTrue(err / max <= 1e-4, "final_latents " + err / max);
        }
    }

    @Test
    void badLorasAndPicklesAreCleanErrors() throws IOException {
        Path out = dir.resolve("x.png");
        Path bad = dir.resolve("bad.safetensors");
        new SafetensorsWriter().add("lora_unet_no_such_layer.lora_down.weight", new float[8], 1, 8)
                .add("lora_unet_no_such_layer.lora_up.weight", new float[8], 8, 1).write(bad);
        Cli.run((Object[]) args(out, "--lora", bad + ":0.5")).assertError(Main.EXIT_BAD_INPUT, "no layer of that name");
        Cli.run((Object[]) args(out, "--lora", bad, "--lora-strict", "false")).assertOk();
        Path ckpt = dir.resolve("model.ckpt");
        Files.write(ckpt, new byte[] {(byte) 0x80, 2, 'x'});
        Cli.Result r = Cli.run("generate", "--model", ckpt, "--prompt", "x", "--out", out);
        assertEquals(Main.EXIT_BAD_INPUT, r.code(), r.err());
        assertTrue(r.err().contains("never unpickles"), r.err());
    }
}
