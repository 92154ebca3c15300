package dev.unet4j.vae;

import dev.unet4j.core.checkpoint.WeightSource;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.WeightMismatchException;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The config switches use_quant_conv, use_post_quant_conv and mid_block_add_attention. */
class OptionalLayersTest {
    static AutoencoderKLConfig with(AutoencoderKLConfig c, boolean quant, boolean postQuant, boolean midAttention) {
        return new AutoencoderKLConfig(c.inChannels(), c.outChannels(), c.downBlockTypes(), c.upBlockTypes(), c.blockOutChannels(),
                c.layersPerBlock(), c.actFn(), c.latentChannels(), c.normNumGroups(), c.sampleSize(), c.scalingFactor(),
                c.shiftFactor(), c.latentsMean(), c.latentsStd(), c.forceUpcast(), quant, postQuant, midAttention);
    }

    /** A 1x1 convolution in plain Java: {@code y[o] = b[o] + sum_i w[o][i] x[i]} at every pixel. */
    static float[] conv1x1(float[] x, int batch, int in, int pixels, float[] w, float[] b) {
        int out = b.length;
        float[] y = new float[batch * out * pixels];
        for (int n = 0; n < batch; n++) for (int o = 0; o < out; o++) for (int p = 0; p < pixels; p++) {
            double acc = b[o];
            for (int i = 0; i < in; i++) acc += (double) w[o * in + i] * x[(n * in + i) * pixels + p];
            y[(n * out + o) * pixels + p] = (float) acc;
        }
        return y;
    }

    @Test
    void withoutQuantConvsTheCheckpointsConvsAreTheOnlyDifference() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        AutoencoderKLConfig full = AutoencoderKLConfig.load(dir.resolve("config.json"));
        try (WeightSource ws = WeightSource.open(List.of(dir.resolve("diffusion_pytorch_model.safetensors")))) {
            ParameterSource all = ParameterSource.of(ws);
            ParameterSource bare = new ParameterSource() {
                @Override
                public Tensor load(String name, long[] expectedShape) {
                    return name.contains("quant_conv") ? null : all.load(name, expectedShape);
                }

                @Override
                public Set<String> names() {
                    return all.names().stream().filter(n -> !n.contains("quant_conv")).collect(Collectors.toSet());
                }
            };
            LoadOptions o = LoadOptions.of(VaeTesting.kernels("onednn"));
            try (AutoencoderKL a = AutoencoderKL.build(full, all, "vae-tiny", o);
                 AutoencoderKL b = AutoencoderKL.build(with(full, false, false, true), bare, "vae-tiny without quant convs", o);
                 Tensor pqw = all.load("post_quant_conv.weight", null); Tensor pqb = all.load("post_quant_conv.bias", null);
                 Tensor qw = all.load("quant_conv.weight", null); Tensor qb = all.load("quant_conv.bias", null);
                 Tensor z = TilingTest.random(31, 2, 4, 6, 5); Tensor img = TilingTest.random(32, 1, 3, 12, 10)) {
                // decode: a(z) = b(post_quant_conv(z))
                try (Tensor zq = Tensor.of(conv1x1(z.toFloatArray(), 2, 4, 30, pqw.toFloatArray(), pqb.toFloatArray()), 2, 4, 6, 5);
                     Tensor ya = a.decode(z); Tensor yb = b.decode(zq)) {
                    VaeTesting.assertClose("decode without post_quant_conv", ya, yb, 1e-5);
                }
                // encode: a's moments = quant_conv(b's moments)
                try (LatentDistribution da = a.encode(img); LatentDistribution db = b.encode(img)) {
                    float[] mb = db.mean().toFloatArray(), lb = db.logvar().toFloatArray(), moments = new float[2 * mb.length];
                    System.arraycopy(mb, 0, moments, 0, mb.length);
                    System.arraycopy(lb, 0, moments, mb.length, lb.length);
                    float[] q = conv1x1(moments, 1, 8, 30, qw.toFloatArray(), qb.toFloatArray());
                    try (Tensor mean = Tensor.of(java.util.Arrays.copyOfRange(q, 0, 120), 1, 4, 6, 5);
                         Tensor logvar = Tensor.of(java.util.Arrays.copyOfRange(q, 120, 240), 1, 4, 6, 5)) {
                        VaeTesting.assertClose("encode mean without quant_conv", mean, da.mean(), 1e-5);
                        VaeTesting.assertClose("encode logvar without quant_conv", logvar, da.logvar(), 1e-5);
                    }
                }
            }
        }
    }

    @Test
    void midBlocksWithoutAttention() throws Exception {
        Path dir = Fixtures.fixture("vae-tiny");
        AutoencoderKLConfig noAttn = with(AutoencoderKLConfig.load(dir.resolve("config.json")), true, true, false);
        LoadOptions o = LoadOptions.of(VaeTesting.kernels("reference"));
        try (AutoencoderKL m = AutoencoderKL.build(noAttn, new RandomParameterSource(3), "random", o);
             Tensor z = TilingTest.random(33, 1, 4, 4, 6); Tensor y = m.decode(z)) {
            assertTrue(m.attentionModules().isEmpty());
            assertArrayEquals(new long[]{1, 3, 8, 12}, y.shape());
        }
        // the fixture's checkpoint has the attentions: they are reported as unexpected, not silently dropped
        try (WeightSource ws = WeightSource.open(List.of(dir.resolve("diffusion_pytorch_model.safetensors")))) {
            WeightMismatchException e = assertThrows(WeightMismatchException.class,
                    () -> AutoencoderKL.build(noAttn, ParameterSource.of(ws), "vae-tiny", o));
            assertTrue(e.getMessage().contains("unexpected decoder.mid_block.attentions.0.to_q.weight"), e.getMessage());
        }
    }
}
