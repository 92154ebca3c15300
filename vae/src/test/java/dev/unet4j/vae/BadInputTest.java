package dev.unet4j.vae;

import dev.unet4j.core.checkpoint.ConfigException;
import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UnsupportedConfigException;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Untrusted configs, checkpoints and tensors: each refused with a message that says what and where. */
class BadInputTest extends TinyVae { // vae-tiny: 4 latent channels, scale factor 2

    static void assertMessage(Throwable t, String... parts) {
        for (String p : parts) assertTrue(t.getMessage().contains(p), "message lacks \"" + p + "\": " + t.getMessage());
    }

    // ---------------------------------------------------------------- tensors

    @Test
    void decodeRefusesWrongShapesAndNonFiniteLatents() {
        try (Tensor rank3 = Tensor.zeros(4, 8, 8); Tensor ch3 = Tensor.zeros(1, 3, 8, 8); Tensor nan = Tensor.zeros(1, 4, 8, 8);
             Tensor inf = Tensor.zeros(2, 4, 3, 5)) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decode(rank3)), "[B, 4, h, w]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decode(ch3)), "3 channels", "latent_channels");
            nan.set(Float.NaN, 0, 1, 2, 3);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decode(nan)), "NaN", "[0, 1, 2, 3]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decodeTiled(nan)), "NaN");
            inf.set(Float.NEGATIVE_INFINITY, 1, 3, 2, 4);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decode(inf)), "-Infinity", "[1, 3, 2, 4]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decode(null)), "null");
        }
    }

    @Test
    void encodeRefusesWrongShapesSizesAndNonFiniteImages() {
        try (Tensor ch4 = Tensor.zeros(1, 4, 16, 16); Tensor odd = Tensor.zeros(1, 3, 15, 16); Tensor nan = Tensor.zeros(1, 3, 16, 16)) {
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.encode(ch4)), "4 channels", "in_channels");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.encode(odd)), "15x16", "multiple", "2");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.encodeTiled(odd)), "multiple");
            nan.set(Float.NaN, 0, 2, 0, 0);
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.encode(nan)), "NaN", "[0, 2, 0, 0]");
        }
    }

    @Test
    void tilingOptionsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new VaeTiling(0, 0.25));
        assertThrows(IllegalArgumentException.class, () -> new VaeTiling(32, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new VaeTiling(32, Double.NaN));
        try (Tensor z = Tensor.zeros(1, 4, 8, 8)) {
            // 1-pixel tiles are smaller than one latent of a scale-2 VAE
            assertMessage(assertThrows(IllegalArgumentException.class, () -> vae.decodeTiled(z, new VaeTiling(1, 0.25))), "smaller than one latent");
        }
    }

    // ---------------------------------------------------------------- configs

    static Path config(Path dir, String json) throws Exception {
        Path p = dir.resolve("config.json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void defaultsAreDiffusersConstructorDefaults(@TempDir Path dir) throws Exception {
        AutoencoderKLConfig c = AutoencoderKLConfig.load(config(dir, "{\"_class_name\": \"AutoencoderKL\"}"));
        assertEquals(3, c.inChannels());
        assertEquals(3, c.outChannels());
        assertEquals(List.of("DownEncoderBlock2D"), c.downBlockTypes());
        assertEquals(List.of("UpDecoderBlock2D"), c.upBlockTypes());
        assertArrayEquals(new int[]{64}, c.blockOutChannels());
        assertEquals(1, c.layersPerBlock());
        assertEquals("silu", c.actFn());
        assertEquals(4, c.latentChannels());
        assertEquals(32, c.normNumGroups());
        assertEquals(32, c.sampleSize());
        assertEquals(0.18215, c.scalingFactor(), 0);
        assertNull(c.shiftFactor());
        assertNull(c.latentsMean());
        assertTrue(c.forceUpcast() && c.useQuantConv() && c.usePostQuantConv() && c.midBlockAddAttention());
        // sample_size as a list: diffusers tiles with its first entry
        assertEquals(96, AutoencoderKLConfig.parse("{\"sample_size\": [96, 128]}", "x").sampleSize());
    }

    @Test
    void badValuesNameTheFileAndTheField(@TempDir Path dir) throws Exception {
        String base = "\"block_out_channels\": [32, 64], \"down_block_types\": [\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], "
                + "\"up_block_types\": [\"UpDecoderBlock2D\", \"UpDecoderBlock2D\"], \"norm_num_groups\": 8";
        String[][] cases = {
                {"\"norm_num_groups\": 7, \"block_out_channels\": [32]", "norm_num_groups"},
                {"\"block_out_channels\": [32, 64]", "2 block_out_channels but 1 down_block_types"},
                {base.replace("\"DownEncoderBlock2D\", \"DownEncoderBlock2D\"", "\"DownEncoderBlock2D\", \"AttnDownEncoderBlock2D\""), "down_block_types[1]"},
                {base + ", \"latent_channels\": 0", "latent_channels"},
                {base + ", \"layers_per_block\": -1", "layers_per_block"},
                {base + ", \"scaling_factor\": -0.5", "scaling_factor"},
                {base + ", \"act_fn\": \"mish\"", "act_fn"},
                {base + ", \"latents_mean\": [0.1, 0.2]", "latents_mean"},
                {base.replace("[32, 64]", "[32, 100000]"), "block_out_channels[1]"},
                {"\"block_out_channels\": []", "block_out_channels"},
        };
        for (String[] c : cases) {
            Path p = config(dir, "{" + c[0] + "}");
            RuntimeException e = assertThrows(RuntimeException.class, () -> AutoencoderKLConfig.load(p), c[0]);
            assertTrue(e instanceof UnsupportedConfigException || e instanceof ConfigException, e.toString());
            assertMessage(e, p.toString(), c[1]);
        }
        for (String[] c : new String[][]{{"\"shift_factor\": \"big\"", "shift_factor"}, {"\"block_out_channels\": \"wide\"", "block_out_channels"},
                {"\"use_quant_conv\": 1", "use_quant_conv"}}) {
            Path p = config(dir, "{" + c[0] + "}");
            assertMessage(assertThrows(ConfigException.class, () -> AutoencoderKLConfig.load(p)), p.toString(), c[1]);
        }
    }

    @Test
    void otherModelClassesAreRefusedByName(@TempDir Path dir) throws Exception {
        Path src = Fixtures.fixture("vae-tiny");
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        config(dir, Files.readString(src.resolve("config.json")).replace("\"AutoencoderKL\"", "\"VQModel\""));
        assertMessage(assertThrows(UnsupportedConfigException.class, () -> AutoencoderKL.load(dir, VaeTesting.kernels("reference"))),
                "VQModel", dir.resolve("config.json").toString());
    }

    // ---------------------------------------------------------------- checkpoints

    /** A config that does not fit the checkpoint: every missing, mis-shaped and unexpected tensor in one exception. */
    @Test
    void checkpointMismatchesAreListedTogether(@TempDir Path dir) throws Exception {
        Path src = Fixtures.fixture("vae-tiny");
        Files.copy(src.resolve("diffusion_pytorch_model.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        config(dir, Files.readString(src.resolve("config.json")).replace("\"latent_channels\": 4", "\"latent_channels\": 3")
                .replace("\"layers_per_block\": 2", "\"layers_per_block\": 1"));
        WeightMismatchException e = assertThrows(WeightMismatchException.class, () -> AutoencoderKL.load(dir, VaeTesting.kernels("reference")));
        assertMessage(e, "mis-shaped quant_conv.weight", "mis-shaped post_quant_conv.weight", "unexpected encoder.down_blocks.0.resnets.1.conv1.weight",
                "unexpected decoder.up_blocks.0.resnets.2.norm1.weight");
        assertTrue(e.problems().size() > 20, "all problems listed: " + e.problems().size());
    }

    /**
     * Legacy attention names ({@code query/key/value/proj_attn}) with single-file [C, C, 1, 1] conv-shaped weights load
     * to the same model: its decode equals the diffusers-named checkpoint's bit for bit.
     */
    @Test
    void legacyAttentionNamesAndConvShapedWeightsLoad() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        try (WeightSource ws = WeightSource.open(List.of(dir.resolve("diffusion_pytorch_model.safetensors")))) {
            ParameterSource real = ParameterSource.of(ws);
            ParameterSource legacy = new ParameterSource() {
                final java.util.Map<String, String> toReal = new java.util.LinkedHashMap<>();

                {
                    for (String n : real.names()) toReal.put(n.replace(".to_q.", ".query.").replace(".to_k.", ".key.")
                            .replace(".to_v.", ".value.").replace(".to_out.0.", ".proj_attn."), n);
                }

                @Override
                public Tensor load(String name, long[] expectedShape) {
                    String r = toReal.get(name);
                    if (r == null) return null;
                    Tensor t = real.load(r, expectedShape);
                    if (!name.equals(r) && t.rank() == 2) return t.moveTo(new long[]{t.dim(0), t.dim(1), 1, 1}, new long[]{t.dim(1), 1, 1, 1}, 0);
                    return t;
                }

                @Override
                public Set<String> names() {
                    return toReal.keySet();
                }
            };
            assertTrue(legacy.names().contains("decoder.mid_block.attentions.0.query.weight"));
            try (Tensor probe = legacy.load("decoder.mid_block.attentions.0.query.weight", new long[0])) {
                assertArrayEquals(new long[]{64, 64, 1, 1}, probe.shape());
            }
            AutoencoderKLConfig cfg = AutoencoderKLConfig.load(dir.resolve("config.json"));
            LoadOptions o = LoadOptions.of(VaeTesting.kernels("reference"));
            try (AutoencoderKL a = AutoencoderKL.build(cfg, real, "diffusers names", o);
                 AutoencoderKL b = AutoencoderKL.build(cfg, legacy, "legacy names", o);
                 Tensor z = TilingTest.random(5, 1, 4, 6, 7); Tensor x = a.decode(z); Tensor y = b.decode(z)) {
                assertArrayEquals(x.toFloatArray(), y.toFloatArray());
            }
        }
    }

    /** A NaN in the weights (the inputs are checked) surfaces as an exception naming the call, not as a NaN image. */
    @Test
    void nonFiniteResultsFromBrokenWeightsAreReported() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        try (WeightSource ws = WeightSource.open(List.of(dir.resolve("diffusion_pytorch_model.safetensors")))) {
            ParameterSource real = ParameterSource.of(ws);
            // NaN weights are refused when the model is built, naming every such tensor
            WeightMismatchException nan = assertThrows(WeightMismatchException.class, () -> AutoencoderKL.build(
                    AutoencoderKLConfig.load(dir.resolve("config.json")), broken(real, Float.NaN, "decoder.conv_out.bias", "encoder.conv_out.bias"),
                    "broken", LoadOptions.of(VaeTesting.kernels("reference"))).close());
            assertMessage(nan, "decoder.conv_out.bias", "encoder.conv_out.bias", "NaN");
            // finite weights that overflow (a norm scale of 3e38) give a non-finite result, reported per call
            try (AutoencoderKL m = AutoencoderKL.build(AutoencoderKLConfig.load(dir.resolve("config.json")),
                    broken(real, 3e38f, "decoder.conv_norm_out.weight", "encoder.conv_norm_out.weight"), "overflowing",
                    LoadOptions.of(VaeTesting.kernels("reference")));
                 Tensor z = Tensor.zeros(1, 4, 4, 4); Tensor img = Tensor.zeros(1, 3, 8, 8); Tensor big = Tensor.zeros(1, 4, 40, 40)) {
                assertMessage(assertThrows(ArithmeticException.class, () -> m.decode(z)), "decode", "weights");
                assertMessage(assertThrows(ArithmeticException.class, () -> m.encode(img)), "encode", "non-finite");
                assertMessage(assertThrows(ArithmeticException.class, () -> m.decodeTiled(big)), "tiled decode", "non-finite");
            }
        }
    }

    /** {@code real} with the whole of each named tensor set to {@code value}. */
    private static ParameterSource broken(ParameterSource real, float value, String... names) {
        Set<String> hit = Set.of(names);
        return new ParameterSource() {
            @Override
            public Tensor load(String name, long[] expectedShape) {
                Tensor t = real.load(name, expectedShape);
                if (hit.contains(name)) t.fill(value);
                return t;
            }

            @Override
            public Set<String> names() {
                return real.names();
            }
        };
    }

    // ---------------------------------------------------------------- latent scale

    /** SD3-style scale and shift: {@code (z - shift) * scale} and back, as diffusers' pipelines write it. */
    @Test
    void scaleAndShiftFollowThePipelines() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        AutoencoderKLConfig c = AutoencoderKLConfig.load(dir.resolve("config.json"));
        AutoencoderKLConfig sd3 = new AutoencoderKLConfig(c.inChannels(), c.outChannels(), c.downBlockTypes(), c.upBlockTypes(),
                c.blockOutChannels(), c.layersPerBlock(), c.actFn(), c.latentChannels(), c.normNumGroups(), c.sampleSize(),
                1.5305, 0.0609, null, null, false, c.useQuantConv(), c.usePostQuantConv(), c.midBlockAddAttention());
        try (WeightSource ws = WeightSource.open(List.of(dir.resolve("diffusion_pytorch_model.safetensors")));
             AutoencoderKL m = AutoencoderKL.build(sd3, ParameterSource.of(ws), "vae-tiny", LoadOptions.of(VaeTesting.kernels("reference")));
             Tensor z = Tensor.of(new float[]{1f, -2f, 0.0609f, 10f}, 1, 4, 1, 1);
             Tensor s = m.scaleLatents(z); Tensor back = m.unscaleLatents(s)) {
            float[] v = s.toFloatArray();
            assertEquals((1 - 0.0609) * 1.5305, v[0], 1e-6);
            assertEquals((-2 - 0.0609) * 1.5305, v[1], 1e-6);
            assertEquals(0, v[2], 1e-7);
            assertEquals((10 - 0.0609) * 1.5305, v[3], 1e-5);
            assertArrayEquals(z.toFloatArray(), back.toFloatArray(), 1e-6f);
        }
        // SD 1.x: no shift, 1 / 0.18215 on decode
        try (Tensor z = Tensor.of(new float[]{0.18215f, 1f, -1f, 2f}, 1, 4, 1, 1); Tensor u = vae.unscaleLatents(z)) {
            assertEquals(1.0, u.toFloatArray()[0], 1e-6);
            assertEquals(1 / 0.18215, u.toFloatArray()[1], 1e-5);
        }
    }
}
