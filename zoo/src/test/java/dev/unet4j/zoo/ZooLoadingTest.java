package dev.unet4j.zoo;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading problems are reported completely and clearly: every bad tensor at once, config errors naming file and key. */
class ZooLoadingTest {
    private static final ReferenceKernels K = new ReferenceKernels();

    /** A copy of fixture {@code name}'s model without {@code drop}, with {@code reshape} stored flat, plus an extra tensor. */
    private static Path broken(Path dir, String name, String drop, String reshape) throws Exception {
        Path src = Fixtures.fixture(name);
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve("model.safetensors"))) {
            for (String n : f.names()) {
                if (n.equals(drop)) continue;
                if (!f.info(n).dtype().isFloatingPoint()) {
                    w.add(n, f.readLongs(n), f.info(n).shape());
                    continue;
                }
                try (Tensor t = f.load(n)) {
                    w.add(n, t.toFloatArray(), n.equals(reshape) ? new long[]{t.numel()} : t.shape());
                }
            }
        }
        w.add("extra.weight", new float[]{1, 2}, 2);
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void everyWeightProblemIsListedInOneException(@TempDir Path dir) throws Exception {
        broken(dir, ZooFixture.UNETPP, "loc2.1.0.blocks.0.instnorm.bias", "up0.3.weight");
        WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> ZooModel.load(dir, LoadOptions.of(K)));
        List<String> problems = e.problems().stream().map(Object::toString).toList();
        assertEquals(3, problems.size(), e.getMessage());
        assertTrue(e.getMessage().contains("missing    loc2.1.0.blocks.0.instnorm.bias (expected [8])"), e.getMessage());
        assertTrue(e.getMessage().contains("mis-shaped up0.3.weight: expected [16, 8, 2, 2], found [512]"), e.getMessage());
        assertTrue(e.getMessage().contains("unexpected extra.weight [2]"), e.getMessage());
    }

    @Test
    void batchNormStatisticsAreRequiredButItsStepCounterIsNot(@TempDir Path dir) throws Exception {
        broken(dir, ZooFixture.MKUNET, "AG3.psi.1.running_var", null);
        WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> ZooModel.load(dir, LoadOptions.of(K)));
        assertEquals(List.of("missing    AG3.psi.1.running_var (expected [1])", "unexpected extra.weight [2]"),
                e.problems().stream().map(Object::toString).toList());
    }

    @Test
    void configProblemsNameTheFileAndTheSetting(@TempDir Path dir) throws Exception {
        Path src = Fixtures.fixture(ZooFixture.UNETPP);
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        String cfg = Files.readString(src.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), cfg.replace("\"convolutional_pooling\": true", "\"convolutional_pooling\": false"));
        UnsupportedConfigException e = assertThrows(UnsupportedConfigException.class, () -> ZooModel.load(dir, LoadOptions.of(K)));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("convolutional_pooling"), e.getMessage());

        Files.writeString(dir.resolve("config.json"), cfg.replace("\"_class_name\": \"Generic_UNetPlusPlus\"", "\"_class_name\": \"Generic_UNet\""));
        UnsupportedConfigException e2 = assertThrows(UnsupportedConfigException.class, () -> ZooModel.load(dir, LoadOptions.of(K)));
        assertTrue(e2.getMessage().contains("Generic_UNet is not"), e2.getMessage());

        Files.writeString(dir.resolve("config.json"), cfg.replace("\"pool_op_kernel_sizes\": [", "\"pool_op_kernel_sizes\": [[2, 2], "));
        ConfigException e3 = assertThrows(ConfigException.class, () -> ZooModel.load(dir, LoadOptions.of(K)));
        assertTrue(e3.getMessage().contains("key 'pool_op_kernel_sizes' is a list") && e3.getMessage().contains("expected an integer or a list of 5 "), e3.getMessage());
    }

    @Test
    void badInputsAreRefusedWithTheExpectedShape() throws Exception {
        try (ZooModel<?> m = ZooModel.load(Fixtures.fixture(ZooFixture.UNETPP), LoadOptions.of(K)); ZooSession s = m.newSession();
             Tensor wrongChannels = Tensor.zeros(1, 2, 64, 64); Tensor notDivisible = Tensor.zeros(1, 1, 48, 64)) {
            IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> s.forward(wrongChannels));
            assertTrue(a.getMessage().contains("[1, 2, 64, 64] is not [B, 1, H, W]"), a.getMessage());
            IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> s.forward(notDivisible));
            assertTrue(b.getMessage().contains("divisible by 32"), b.getMessage());
        }
        try (ZooModel<?> m = ZooModel.load(Fixtures.fixture(ZooFixture.DDOS), LoadOptions.of(K)); ZooSession s = m.newSession();
             Tensor flat = Tensor.zeros(1, 2, 8, 8)) {
            IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> s.forward(flat));
            assertTrue(a.getMessage().contains("is not [B, 2, D, H, W]"), a.getMessage() + " " + Arrays.toString(flat.shape()));
        }
    }
}
