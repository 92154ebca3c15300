package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** forward on the segmentation UNets writes every fixture tensor (outputs under the fixtures' names and the hooks). */
class ZooForwardCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"unetpp-tiny", "mkunet-tiny", "ddos-unet-tiny"})
    void everyFixtureTensorIsReproduced(String fixture) throws IOException {
        Path model = Fixtures.fixture(fixture);
        Path out = dir.resolve("out.safetensors");
        List<String> hooks;
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors"))) {
            hooks = ref.names().stream().filter(n -> !n.startsWith("output")).toList();
        }
        Cli.run("forward", "--model", model, "--inputs", model.resolve("inputs.safetensors"), "--output", out,
                "--capture", String.join(",", hooks)).assertOk();
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors")); SafetensorsFile got = SafetensorsFile.open(out)) {
            assertEquals(ref.names().size(), got.names().size(), "tensors written: " + got.names());
            for (String name : ref.names()) {
                assertTrue(got.contains(name), "missing " + name);
                assertEquals(Arrays.toString(ref.info(name).shape()), Arrays.toString(got.info(name).shape()), name);
                try (Tensor r = ref.load(name); Tensor g = got.load(name)) {
                    float[] rv = r.toFloatArray(), gv = g.toFloatArray();
                    double maxRef = 0, maxDiff = 0;
                    for (int i = 0; i < rv.length; i++) {
                        maxRef = Math.max(maxRef, Math.abs(rv[i]));
                        maxDiff = Math.max(maxDiff, Math.abs(rv[i] - gv[i]));
                    }
                    assertTrue(maxDiff <= 1e-4 * maxRef, fixture + " " + name + ": " + maxDiff + " > 1e-4 * " + maxRef);
                }
            }
        }
    }

    @Test
    void anUnknownCaptureOrInputIsAUserError() {
        Path model = Fixtures.fixture("unetpp-tiny");
        Cli.run("forward", "--model", model, "--inputs", model.resolve("inputs.safetensors"), "--output", dir.resolve("o.safetensors"),
                "--capture", "loc9.0").assertError(1, "--capture loc9.0: the call did not produce it");
        Path wrong = Fixtures.fixture("unet2d-ddpm-tiny").resolve("inputs.safetensors");
        Cli.run("forward", "--model", model, "--inputs", wrong, "--output", dir.resolve("o.safetensors"))
                .assertError(1, "unexpected tensor").assertError(1, "expected x [B, C, H, W]");
    }

    @Test
    void benchAndInspectDescribeTheZooModels() {
        Path model = Fixtures.fixture("mkunet-tiny");
        Cli.Result b = Cli.run("bench", "--model", model, "--size", "64x96", "--batch", "2", "--iterations", "2", "--warmup", "1",
                "--quant", "int8").assertOk();
        assertTrue(b.out().contains("MK_UNet") && b.out().contains("[2, 3, 64, 96]") && b.out().contains("float32"), b.out());
        assertTrue(b.out().contains("quant int8") && b.out().contains("Dice(logit>0)"), b.out());
        Cli.Result i = Cli.run("inspect", "--model", Fixtures.fixture("unetpp-tiny")).assertOk();
        assertTrue(i.out().contains("Generic_UNetPlusPlus") && i.out().contains("loc0.4") && i.out().contains("seg_outputs.4"), i.out());
        assertTrue(i.out().contains("212,064"), "values read: " + i.out());
        Cli.run("bench", "--model", model, "--size", "50").assertError(1, "divisible by 32");
    }

    /**
     * {@code --quant mixed:} picks per-layer bits by the sensitivity of UNet++'s five deep-supervision outputs on the
     * inputs file's {@code x}: every head is written, close to the float32 fixture outputs but not equal to them; bench
     * reports its cost on seeded inputs; a budget too small for the float32 parts is a user error.
     */
    @Test
    void mixedPrecisionRunsOnTheZooModels() throws IOException {
        Path model = Fixtures.fixture("unetpp-tiny");
        Path out = dir.resolve("mixed.safetensors");
        Cli.run("forward", "--model", model, "--inputs", model.resolve("inputs.safetensors"), "--output", out, "--quant", "mixed:5").assertOk();
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors")); SafetensorsFile got = SafetensorsFile.open(out)) {
            for (int h = 0; h < 5; h++) {
                try (Tensor r = ref.load("output." + h); Tensor g = got.load("output." + h)) {
                    float[] rv = r.toFloatArray(), gv = g.toFloatArray();
                    double maxRef = 0, maxDiff = 0;
                    for (int i = 0; i < rv.length; i++) {
                        maxRef = Math.max(maxRef, Math.abs(rv[i]));
                        maxDiff = Math.max(maxDiff, Math.abs(rv[i] - gv[i]));
                    }
                    assertTrue(maxDiff > 0 && maxDiff < 0.5 * maxRef, "output." + h + ": max|delta| " + maxDiff + ", max|fp32| " + maxRef);
                }
            }
        }
        Cli.Result b = Cli.run("bench", "--model", Fixtures.fixture("mkunet-tiny"), "--size", "64", "--iterations", "1", "--warmup", "0",
                "--quant", "mixed:5").assertOk();
        assertTrue(b.out().contains("quant mixed:5") && b.out().contains("Dice(logit>0)"), b.out());
        Cli.run("forward", "--model", model, "--inputs", model.resolve("inputs.safetensors"), "--output", out, "--quant", "mixed:1KB")
                .assertError(1, "give a larger budget");
    }
}
