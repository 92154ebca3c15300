package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** forward reproduces the golden fixtures' output and every captured intermediate through the command line. */
class ForwardCommandTest {
    @TempDir
    Path dir;

    private static void assertClose(String what, float[] ref, float[] got) {
        assertEquals(ref.length, got.length, what + " size");
        double tol = 1e-4 * (1 + Closeness.maxAbs(ref));
        for (int i = 0; i < ref.length; i++) {
            assertTrue(Math.abs(ref[i] - got[i]) <= tol, what + "[" + i + "]: " + got[i] + " vs " + ref[i] + " (tol " + tol + ")");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void everyFixtureTensorIsReproduced(String fixture) throws IOException {
        Path model = Fixtures.fixture(fixture);
        Path out = dir.resolve("out.safetensors");
        Cli.run("forward", "--model", model, "--inputs", model.resolve("inputs.safetensors"), "--output", out, "--capture", "all")
                .assertOk();
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors"));
             SafetensorsFile got = SafetensorsFile.open(out)) {
            assertTrue(ref.names().size() > 30, "fixture has its intermediates");
            for (String name : ref.names()) {
                assertTrue(got.contains(name), "missing " + name);
                assertEquals(Arrays.toString(ref.info(name).shape()), Arrays.toString(got.info(name).shape()), name);
                try (Tensor r = ref.load(name); Tensor g = got.load(name)) {
                    assertClose(fixture + " " + name, r.toFloatArray(), g.toFloatArray());
                }
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"unet2d-ddpm-tiny, 10.7, 0", "unet2d-cond-sd-tiny, 999, 0", "unet2d-ddpm-tiny, 731, 1"})
    void aPythonScalarTimestepFollowsTheModelClassRule(String fixture, String timestep, int item) throws IOException {
        // the fixture calls use timesteps [10, 731] (DDPM) and [999, 251] (SD): a Python float 10.7 is truncated to
        // 10 by UNet2DModel, so item 0 of the output must be the fixture's item 0; a scalar 731 matches item 1
        Path model = Fixtures.fixture(fixture);
        Path in = dir.resolve("in.safetensors");
        Path out = dir.resolve("out.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("inputs.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (String n : f.names()) {
                if (n.equals("timestep")) continue;
                if (n.equals("class_labels")) w.add(n, f.readLongs(n), f.info(n).shape());
                else w.add(n, f.load(n));
            }
            w.write(in);
        }
        Cli.run("forward", "--model", model, "--inputs", in, "--output", out, "--timestep", timestep).assertOk();
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors"));
             SafetensorsFile got = SafetensorsFile.open(out);
             Tensor r = ref.load("sample"); Tensor g = got.load("sample")) {
            float[] rv = r.toFloatArray();
            float[] gv = g.toFloatArray();
            int n = rv.length / 2;
            assertClose(fixture + " item " + item + " at t=" + timestep, Arrays.copyOfRange(rv, item * n, item * n + n),
                    Arrays.copyOfRange(gv, item * n, item * n + n));
        }
    }
}
