package dev.unet4j.core.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.MiniSafetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class TimestepEmbeddingTest {

    /**
     * diffusers' own time_proj output for the fixtures' timesteps (ddpm: [10, 731], no flip, shift 1; sd: [999, 251],
     * flip, shift 0). The arguments t*freq agree bit for bit; what remains is torch's float32 sin/cos (1 ulp, 6e-8 at most)
     * against our double ones. With a correctly rounded exp instead of torch's, sd-tiny is off by 1.7e-6.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void matchesDiffusersTimeProj(String fixture) throws IOException {
        Path dir = Fixtures.fixture(fixture);
        JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        double[] t = MiniSafetensors.read(dir.resolve("inputs.safetensors")).get("timestep").doubles();
        MiniSafetensors.Entry expected = MiniSafetensors.read(dir.resolve("outputs.safetensors")).get("time_proj");
        int dim = config.get("block_out_channels").get(0).asInt();
        assertArrayEquals(new long[]{t.length, dim}, expected.shape());

        float[] got = TimestepEmbedding.sinusoidal(t, dim, config.get("flip_sin_to_cos").asBoolean(),
                config.get("freq_shift").asDouble());
        float[] want = expected.floats();
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1.2e-7, fixture + " time_proj[" + i + "]");
    }

    /** dim 5 by hand: half 2, shift 0 → freqs exp(0) = 1 and exp(-ln(10000)/2) = 0.01; t = 100 → args 100, 1. */
    @Test
    void oddDimIsZeroPaddedAndFlipped() {
        float[] noFlip = TimestepEmbedding.sinusoidal(new double[]{100}, 5, false, 0);
        float[] flip = TimestepEmbedding.sinusoidal(new double[]{100}, 5, true, 0);
        double[] sinCos = {Math.sin(100), Math.sin(1), Math.cos(100), Math.cos(1), 0};
        double[] cosSin = {Math.cos(100), Math.cos(1), Math.sin(100), Math.sin(1), 0};
        for (int i = 0; i < 5; i++) {
            assertEquals(sinCos[i], noFlip[i], 1e-6, "no flip [" + i + "]");
            assertEquals(cosSin[i], flip[i], 1e-6, "flip [" + i + "]");
        }
        assertEquals(0f, noFlip[4], 0f);
    }

    /** The product t*freq is rounded to float32 before sin: at t = 999 that differs from the double product. */
    @Test
    void productIsRoundedToFloat32() {
        int dim = 32, half = 16;
        float[] got = TimestepEmbedding.sinusoidal(new double[]{999}, dim, false, 1);
        for (int i = 0; i < half; i++) {
            float freq = (float) Math.exp((float) ((float) -Math.log(10000) * i) / 15f);
            float arg = 999f * freq;
            assertEquals(Math.sin(arg), got[i], 1e-7, "sin[" + i + "]");
        }
    }

    @Test
    void scaleAndMaxPeriod() {
        // half 1: freq = exp(0) = 1 whatever max_period; scale 2 doubles the argument
        float[] got = TimestepEmbedding.sinusoidal(new double[]{0.25, 3}, 2, false, 0, 2.0, 100);
        assertArrayEquals(new float[]{(float) Math.sin(0.5), (float) Math.cos(0.5), (float) Math.sin(6), (float) Math.cos(6)}, got, 1e-7f);
        try (Tensor t = TimestepEmbedding.sinusoidalTensor(new double[]{0.25, 3}, 2, false, 0, 2.0, 100)) {
            assertArrayEquals(new long[]{2, 2}, t.shape());
            assertArrayEquals(got, t.toFloatArray(), 0f);
        }
    }

    /** GaussianFourierProjection: x_proj = log(t) * W * 2 pi; [sin, cos], or [cos, sin] when flipped. */
    @Test
    void gaussianFourier() {
        float[] w = {0.5f, -1.25f};
        double t = Math.E * Math.E; // log = 2 → proj = 2 pi, -5 pi
        float[] got = TimestepEmbedding.gaussianFourier(new double[]{t}, w, true, false);
        double[] want = {Math.sin(2 * Math.PI), Math.sin(-5 * Math.PI), Math.cos(2 * Math.PI), Math.cos(-5 * Math.PI)};
        for (int i = 0; i < 4; i++) assertEquals(want[i], got[i], 2e-6, "log [" + i + "]");
        float[] flipped = TimestepEmbedding.gaussianFourier(new double[]{0.1}, w, false, true);
        double[] want2 = {Math.cos(0.1 * Math.PI), Math.cos(-0.25 * Math.PI), Math.sin(0.1 * Math.PI), Math.sin(-0.25 * Math.PI)};
        for (int i = 0; i < 4; i++) assertEquals(want2[i], flipped[i], 1e-6, "no log, flipped [" + i + "]");
    }

    /** torch's float32 exp is SLEEF's: within 1 ulp of the exact value, and not the correctly rounded one at -4.029524. */
    @Test
    void torchExpfIsSleefExpf() {
        float x = (float) -Math.log(10000) * 7 / 16; // the sd-tiny exponent for i = 7
        assertEquals(-4.029524f, x, 0f);
        assertEquals(0.017782796f, TimestepEmbedding.torchExpf(x), 0f); // torch's value, seen in the fixture
        assertEquals(0.017782794f, (float) Math.exp(x), 0f);            // correctly rounded differs by 1 ulp
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 10000; i++) {
            float d = (r.nextFloat() - 0.5f) * 170f;
            float want = (float) Math.exp(d), got = TimestepEmbedding.torchExpf(d);
            assertEquals(want, got, Math.ulp(want), "exp(" + d + ")");
        }
        assertEquals(1f, TimestepEmbedding.torchExpf(0f), 0f);
        assertEquals(0f, TimestepEmbedding.torchExpf(-200f), 0f);
        assertEquals(Float.POSITIVE_INFINITY, TimestepEmbedding.torchExpf(200f), 0f);
    }
}
