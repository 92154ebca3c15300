package dev.unet4j.vae;

import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UnsupportedConfigException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AutoencoderTiny (TAESD) against a plain-Java double-precision transcription of diffusers' EncoderTiny / DecoderTiny
 * on a small random checkpoint written in diffusers' layout (no fixture exists). 3 levels (scale factor 4), 8 channels,
 * blocks (1, 2, 1) / (2, 1, 1).
 */
class AutoencoderTinyTest {
    @TempDir
    static Path dir;
    static final Map<String, float[]> W = new LinkedHashMap<>();
    static final Map<String, long[]> SHAPE = new LinkedHashMap<>();

    /**
     * diffusers' {@code nn.Sequential} indices for this config, written out: encoder conv_in, block, stride-2 conv,
     * 2 blocks, stride-2 conv, block, conv to latents; decoder conv, ReLU (no weights), 2 blocks, upsample (none),
     * conv, block, upsample, conv, block, conv to RGB with bias.
     */
    static final String[] ENCODER = {"conv 3 8 1 b", "block", "conv 8 8 2 -", "block", "block", "conv 8 8 2 -", "block", "conv 8 4 1 b"};
    static final String[] DECODER = {"conv 4 8 1 b", "relu", "block", "block", "up", "conv 8 8 1 -", "block", "up", "conv 8 8 1 -", "block", "conv 8 3 1 b"};

    @BeforeAll
    static void writeCheckpoint() throws Exception {
        Random r = new Random(42);
        addAll(r, "encoder", ENCODER);
        addAll(r, "decoder", DECODER);
        SafetensorsWriter w = new SafetensorsWriter();
        W.forEach((k, v) -> w.add(k, v, SHAPE.get(k)));
        w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        Files.writeString(dir.resolve("config.json"), """
                {"_class_name": "AutoencoderTiny", "_diffusers_version": "0.31.0", "act_fn": "relu",
                 "encoder_block_out_channels": [8, 8, 8], "decoder_block_out_channels": [8, 8, 8],
                 "num_encoder_blocks": [1, 2, 1], "num_decoder_blocks": [2, 1, 1], "latent_channels": 4,
                 "in_channels": 3, "out_channels": 3, "upsample_fn": "nearest", "upsampling_scaling_factor": 2,
                 "latent_magnitude": 3, "latent_shift": 0.5, "scaling_factor": 1.0, "shift_factor": 0.0, "force_upcast": false}
                """);
    }

    static void addAll(Random r, String part, String[] layers) {
        for (int i = 0; i < layers.length; i++) {
            String[] f = layers[i].split(" ");
            String key = part + ".layers." + i;
            if (f[0].equals("conv")) conv(r, key, Integer.parseInt(f[1]), Integer.parseInt(f[2]), f[4].equals("b"));
            if (f[0].equals("block")) for (int c : new int[]{0, 2, 4}) conv(r, key + ".conv." + c, 8, 8, true);
        }
    }

    static void conv(Random r, String key, int in, int out, boolean bias) {
        double bound = 1 / Math.sqrt(in * 9.0);
        float[] w = new float[out * in * 9];
        for (int i = 0; i < w.length; i++) w[i] = (float) ((r.nextDouble() * 2 - 1) * bound * 1.7);
        W.put(key + ".weight", w);
        SHAPE.put(key + ".weight", new long[]{out, in, 3, 3});
        if (bias) {
            float[] b = new float[out];
            for (int i = 0; i < out; i++) b[i] = (float) (0.1 * r.nextGaussian());
            W.put(key + ".bias", b);
            SHAPE.put(key + ".bias", new long[]{out});
        }
    }

    // ---------------------------------------------------------------- the reference, in double

    /** [C][H][W] maps of one image. */
    static double[][][] conv3(double[][][] x, String key, int stride) {
        float[] w = W.get(key + ".weight"), b = W.get(key + ".bias");
        long[] s = SHAPE.get(key + ".weight");
        int out = (int) s[0], in = (int) s[1], h = x[0].length, wd = x[0][0].length;
        int oh = (h + 2 - 3) / stride + 1, ow = (wd + 2 - 3) / stride + 1;
        double[][][] y = new double[out][oh][ow];
        for (int o = 0; o < out; o++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            double acc = b == null ? 0 : b[o];
            for (int c = 0; c < in; c++) for (int ky = 0; ky < 3; ky++) for (int kx = 0; kx < 3; kx++) {
                int yy = i * stride + ky - 1, xx = j * stride + kx - 1;
                if (yy >= 0 && yy < h && xx >= 0 && xx < wd) acc += w[((o * in + c) * 3 + ky) * 3 + kx] * x[c][yy][xx];
            }
            y[o][i][j] = acc;
        }
        return y;
    }

    static double[][][] relu(double[][][] x) {
        double[][][] y = new double[x.length][x[0].length][x[0][0].length];
        for (int c = 0; c < x.length; c++) for (int i = 0; i < x[0].length; i++) for (int j = 0; j < x[0][0].length; j++) y[c][i][j] = Math.max(0, x[c][i][j]);
        return y;
    }

    static double[][][] add(double[][][] a, double[][][] b) {
        double[][][] y = new double[a.length][a[0].length][a[0][0].length];
        for (int c = 0; c < a.length; c++) for (int i = 0; i < a[0].length; i++) for (int j = 0; j < a[0][0].length; j++) y[c][i][j] = a[c][i][j] + b[c][i][j];
        return y;
    }

    static double[][][] up2(double[][][] x) {
        double[][][] y = new double[x.length][2 * x[0].length][2 * x[0][0].length];
        for (int c = 0; c < x.length; c++) for (int i = 0; i < y[0].length; i++) for (int j = 0; j < y[0][0].length; j++) y[c][i][j] = x[c][i / 2][j / 2];
        return y;
    }

    static double[][][] map(double[][][] x, java.util.function.DoubleUnaryOperator f) {
        double[][][] y = new double[x.length][x[0].length][x[0][0].length];
        for (int c = 0; c < x.length; c++) for (int i = 0; i < x[0].length; i++) for (int j = 0; j < x[0][0].length; j++) y[c][i][j] = f.applyAsDouble(x[c][i][j]);
        return y;
    }

    /** diffusers' nn.Sequential over {@code layers} ({@code relu(conv4(relu(conv2(relu(conv0 x)))) + x)} for a block). */
    static double[][][] sequential(double[][][] x, String part, String[] layers) {
        for (int i = 0; i < layers.length; i++) {
            String key = part + ".layers." + i;
            String[] f = layers[i].split(" ");
            switch (f[0]) {
                case "conv" -> x = conv3(x, key, Integer.parseInt(f[3]));
                case "relu" -> x = relu(x);
                case "up" -> x = up2(x);
                case "block" -> {
                    double[][][] h = relu(conv3(x, key + ".conv.0", 1));
                    h = relu(conv3(h, key + ".conv.2", 1));
                    x = relu(add(conv3(h, key + ".conv.4", 1), x));
                }
                default -> throw new IllegalStateException(f[0]);
            }
        }
        return x;
    }

    static double[][][] image(Tensor t, int b) {
        int c = (int) t.dim(1), h = (int) t.dim(2), w = (int) t.dim(3);
        double[][][] x = new double[c][h][w];
        for (int k = 0; k < c; k++) for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) x[k][i][j] = t.get(b, k, i, j);
        return x;
    }

    static Tensor tensor(double[][][][] x) {
        int b = x.length, c = x[0].length, h = x[0][0].length, w = x[0][0][0].length;
        float[] v = new float[b * c * h * w];
        for (int n = 0; n < b; n++) for (int k = 0; k < c; k++) for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) v[((n * c + k) * h + i) * w + j] = (float) x[n][k][i][j];
        return Tensor.of(v, b, c, h, w);
    }

    static Tensor referenceEncode(Tensor img) {
        double[][][][] out = new double[(int) img.dim(0)][][][];
        for (int b = 0; b < out.length; b++) out[b] = sequential(map(image(img, b), v -> (v + 1) / 2), "encoder", ENCODER);
        return tensor(out);
    }

    static Tensor referenceDecode(Tensor z) {
        double[][][][] out = new double[(int) z.dim(0)][][][];
        for (int b = 0; b < out.length; b++) {
            out[b] = map(sequential(map(image(z, b), v -> Math.tanh(v / 3) * 3), "decoder", DECODER), v -> 2 * v - 1);
        }
        return tensor(out);
    }

    // ---------------------------------------------------------------- tests

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"reference", "onednn"})
    void encodeAndDecodeMatchThePlainReference(String backend) throws Exception {
        try (Autoencoder a = Autoencoder.load(dir, VaeTesting.kernels(backend));
             Tensor img = TilingTest.random(11, 2, 3, 16, 20); Tensor z = TilingTest.random(12, 2, 4, 5, 3)) {
            AutoencoderTiny vae = assertInstanceOf(AutoencoderTiny.class, a);
            assertEquals(4, vae.scaleFactor());
            assertEquals(1.0, vae.scalingFactor(), 0);
            try (Tensor lat = vae.encode(img); Tensor ref = referenceEncode(img);
                 Tensor dec = vae.decode(z); Tensor refDec = referenceDecode(z)) {
                assertArrayEquals(new long[]{2, 4, 4, 5}, lat.shape());
                assertArrayEquals(new long[]{2, 3, 20, 12}, dec.shape());
                double ee = VaeTesting.assertClose("encode", ref, lat, 1e-5), ed = VaeTesting.assertClose("decode", refDec, dec, 1e-5);
                System.out.printf("AutoencoderTiny %s: encode %.2e, decode %.2e%n", backend, ee, ed);
            }
            // the pipeline's entry: the latents themselves, no generator draw
            try (Tensor viaPipeline = vae.encodeLatents(img, new dev.unet4j.core.random.TorchGenerator(0)); Tensor lat = vae.encode(img)) {
                assertArrayEquals(lat.toFloatArray(), viaPipeline.toFloatArray());
            }
        }
    }

    @Test
    void classesAreChosenByConfigAndCheckedByTheOtherLoader() throws Exception {
        assertMessage(assertThrows(UnsupportedConfigException.class, () -> AutoencoderKL.load(dir, VaeTesting.kernels("reference"))),
                "AutoencoderTiny", "Autoencoder.load");
        try (Autoencoder kl = Autoencoder.load(dev.unet4j.core.testing.Fixtures.fixture("vae-tiny"), VaeTesting.kernels("reference"))) {
            assertInstanceOf(AutoencoderKL.class, kl);
        }
    }

    @Test
    void configsOutsideWhatDiffusersCanRunAreRefused() {
        String base = "\"encoder_block_out_channels\": [8, 8], \"decoder_block_out_channels\": [8, 8], \"num_encoder_blocks\": [1, 1], \"num_decoder_blocks\": [1, 1]";
        String[][] cases = {
                {base.replace("\"encoder_block_out_channels\": [8, 8]", "\"encoder_block_out_channels\": [8, 16]"), "equally wide"},
                {base.replace("\"num_decoder_blocks\": [1, 1]", "\"num_decoder_blocks\": [1]"), "num_decoder_blocks"},
                {base + ", \"upsample_fn\": \"bilinear\"", "upsample_fn"},
                {base + ", \"act_fn\": \"mish\"", "act_fn"},
                {base + ", \"latent_channels\": 0", "latent_channels"},
        };
        for (String[] c : cases) {
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> AutoencoderTinyConfig.from(dev.unet4j.core.checkpoint.DiffusersConfig.parse("{" + c[0] + "}", "tiny.json")), c[0]);
            assertMessage(e, "tiny.json", c[1]);
        }
    }

    static void assertMessage(Throwable t, String... parts) {
        for (String p : parts) assertTrue(t.getMessage().contains(p), "message lacks \"" + p + "\": " + t.getMessage());
    }
}
