package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.schedule.NoiseSchedule;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.unet.config.UNet2DConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Values from config and weight files that used to load and then give a silently wrong result or an internal error:
 * integers that wrap, epsilons and scale factors that make every output NaN, betas outside (0, 1), an absurd
 * {@code num_train_timesteps}, NaN/Inf weights and empty block lists. Each is refused at load with a message naming
 * the key (or tensor) and the value.
 */
class UntrustedConfigValuesTest {
    private static final Path DDPM = Fixtures.fixture("unet2d-ddpm-tiny");
    private static final Path SD = Fixtures.fixture("unet2d-cond-sd-tiny");

    @TempDir
    Path dir;

    private static String ddpmConfig() throws IOException {
        return Files.readString(DDPM.resolve("config.json"));
    }

    private static String sdConfig() throws IOException {
        return Files.readString(SD.resolve("config.json"));
    }

    /** {@code json} with {@code "key": old} replaced by {@code "key": value}. */
    private static String set(String json, String key, String value) {
        String out = json.replaceFirst("\"" + key + "\": [^,\\n\\[]+(,?)\\n", "\"" + key + "\": " + value + "$1\n");
        assertTrue(!out.equals(json) || json.contains("\"" + key + "\": " + value), "no scalar " + key + " in the config");
        return out;
    }

    private static String message(Throwable t) {
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    @Test
    void integersOutOfIntRangeAreRefusedNotWrapped() throws IOException {
        String cfg = ddpmConfig();
        // Jackson's asInt() read 4294967297 as 1 and -4294967288 as 8 (then "positive")
        for (String[] c : new String[][]{{"in_channels", "4294967297"}, {"norm_num_groups", "-4294967288"},
                {"sample_size", "4294967312"}, {"layers_per_block", "9223372036854775807"}, {"in_channels", "3.0"}}) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> UNet2DConfig.fromJson(set(cfg, c[0], c[1])), c[0]);
            assertTrue(e instanceof ConfigException, message(e));
            String expected = c[1].contains(".") ? "key '" + c[0] + "' is a floating-point number " + c[1] + ", expected an integer"
                    : "key '" + c[0] + "' = " + c[1] + " is out of int range";
            assertTrue(e.getMessage().contains(expected), message(e));
        }
        // inside lists too: block_out_channels [32, 2^32 + 64, 64] is not [32, 64, 64]
        String list = cfg.replaceFirst("64,\\s*\\n\\s*64\\s*\\n", "4294967360,\n64\n");
        RuntimeException e = assertThrows(ConfigException.class, () -> UNet2DConfig.fromJson(list));
        assertTrue(e.getMessage().contains("key 'block_out_channels' = 4294967360 is out of int range"), message(e));
        // the SD fixture's int-or-list keys
        String sd = sdConfig();
        for (String[] c : new String[][]{{"cross_attention_dim", "4294967344"}, {"attention_head_dim", "4294967298"},
                {"transformer_layers_per_block", "4294967297"}}) {
            String mutated = sd.contains("\"" + c[0] + "\": [") ? sd.replaceFirst("\"" + c[0] + "\": \\[[^\\]]*\\]", "\"" + c[0] + "\": " + c[1])
                    : sd.contains("\"" + c[0] + "\"") ? set(sd, c[0], c[1]) : sd.replaceFirst("\\{", "{\"" + c[0] + "\": " + c[1] + ",");
            RuntimeException x = assertThrows(ConfigException.class, () -> UNet2DConditionConfig.fromJson(mutated), c[0]);
            assertTrue(x.getMessage().contains("key '" + c[0] + "' = " + c[1] + " is out of int range"), message(x));
        }
        // the rule is core's one reader's: scheduler configs get the same refusal
        RuntimeException s = assertThrows(ConfigException.class, () -> SchedulerConfig.parse("{\"steps_offset\": 4294967297}").integer("steps_offset", 0));
        assertTrue(s.getMessage().contains("key 'steps_offset' = 4294967297 is out of int range"), message(s));
    }

    @Test
    void epsilonsAndScaleFactorsThatMakeTheOutputNaNAreRefused() throws IOException {
        String cfg = ddpmConfig();
        for (String eps : List.of("0", "-1", "1e-50", "1e300")) {
            RuntimeException e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConfig.fromJson(set(cfg, "norm_eps", eps)));
            assertTrue(e.getMessage().contains("norm_eps must be a number > 0"), message(e));
        }
        // ResnetBlock2D divides the residual sum by output_scale_factor: 0 gives infinities, 1e300 a zero block
        for (String f : List.of("0", "0.0", "1e300", "1e-300")) {
            RuntimeException e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConfig.fromJson(set(cfg, "mid_block_scale_factor", f)));
            assertTrue(e.getMessage().contains("mid_block_scale_factor") && e.getMessage().contains("cannot divide"), message(e));
        }
        String sd = sdConfig();
        RuntimeException e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConditionConfig.fromJson(set(sd, "norm_eps", "-1")));
        assertTrue(e.getMessage().contains("norm_eps"), message(e));
        e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConditionConfig.fromJson(set(sd, "mid_block_scale_factor", "0")));
        assertTrue(e.getMessage().contains("mid_block_scale_factor"), message(e));
        // legitimate values still load: 2 (a real diffusers setting, UNet2DModel's DDPM CIFAR uses 1), a negative one
        assertEquals(2.0, UNet2DConfig.fromJson(set(cfg, "mid_block_scale_factor", "2")).midBlockScaleFactor());
        assertEquals(1e-3, UNet2DConfig.fromJson(set(cfg, "norm_eps", "0.001")).normEps());
    }

    @Test
    void emptyBlockListsAreRefused() throws IOException {
        String cfg = ddpmConfig().replaceAll("\"(block_out_channels|down_block_types|up_block_types)\": \\[[^\\]]*\\]", "\"$1\": []");
        RuntimeException e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConfig.fromJson(cfg));
        assertTrue(e.getMessage().contains("block_out_channels is empty"), message(e));
        String sd = sdConfig().replaceAll("\"(block_out_channels|down_block_types|up_block_types)\": \\[[^\\]]*\\]", "\"$1\": []");
        e = assertThrows(UnsupportedConfigException.class, () -> UNet2DConditionConfig.fromJson(sd));
        assertTrue(e.getMessage().contains("block_out_channels is empty"), message(e));
    }

    @Test
    void schedulerConfigsThatWouldAllocateOrGiveNaNAreRefused() {
        // sized an array of 2^31 - 1 floats
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SchedulerConfig.parse("{\"num_train_timesteps\": 2147483647}"));
        assertTrue(e.getMessage().contains("num_train_timesteps must be 2..100000, got 2147483647"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SchedulerConfig.parse("{\"num_train_timesteps\": 4294968296}"));
        assertTrue(e.getMessage().contains("key 'num_train_timesteps' = 4294968296 is out of int range"), e.getMessage());
        assertEquals(100_000, SchedulerConfig.parse("{\"num_train_timesteps\": 100000}").numTrainTimesteps());
        // betas outside (0, 1): alphas_cumprod of 0 or below, NaN sigmas
        for (String json : List.of("{\"beta_start\": 0.0001, \"beta_end\": 1.5}", "{\"beta_start\": -0.001, \"beta_end\": 0.02}",
                "{\"beta_start\": 0.0, \"beta_end\": 0.02}", "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.5, \"beta_end\": 1.2}",
                "{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 1.0, 0.2]}")) {
            SchedulerConfig cfg = SchedulerConfig.parse(json);
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.fromConfig(cfg, false), json);
            assertTrue(x.getMessage().contains("every beta must be in (0, 1)"), x.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Samplers.byName("ddim", SamplerOptions.of(cfg)), json);
        }
        // the edge: beta_end 0.999 is fine (squaredcos_cap_v2 caps there)
        float[] b = NoiseSchedule.fromConfig(SchedulerConfig.parse("{\"beta_end\": 0.999}"), false).betas();
        assertEquals(0.999f, b[b.length - 1], 1e-7f);
    }

    @Test
    void nonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws IOException {
        Path model = dir.resolve("nan-model");
        Files.createDirectories(model);
        Files.copy(DDPM.resolve("config.json"), model.resolve("config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        String nanName = null, infName = null;
        try (SafetensorsFile f = SafetensorsFile.open(DDPM.resolve("diffusion_pytorch_model.safetensors"))) {
            for (TensorInfo i : f.infos()) {
                try (Tensor t = f.load(i.name())) {
                    float[] v = t.toFloatArray();
                    if (nanName == null && i.name().endsWith("conv2.weight")) {
                        nanName = i.name();
                        v[5] = Float.NaN;
                        v[9] = Float.NaN;
                    } else if (infName == null && i.name().endsWith("norm1.bias")) {
                        infName = i.name();
                        v[0] = Float.NEGATIVE_INFINITY;
                    }
                    w.add(i.name(), v, i.shape());
                }
            }
        }
        w.write(model.resolve("diffusion_pytorch_model.safetensors"));
        long live = NativeBuffer.liveBytes();
        WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> UNetModel.load(model, LoadOptions.of(Models.KERNELS)));
        assertEquals(live, NativeBuffer.liveBytes(), "native memory after the refused load");
        assertEquals(2, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("non-finite " + nanName), e.getMessage());
        assertTrue(e.getMessage().contains("2 of ") && e.getMessage().contains("(the first, NaN, at flat index 5)"), e.getMessage());
        assertTrue(e.getMessage().contains("non-finite " + infName) && e.getMessage().contains("-Infinity, at flat index 0"), e.getMessage());
    }
}
