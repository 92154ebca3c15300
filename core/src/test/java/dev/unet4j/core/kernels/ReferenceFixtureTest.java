package dev.unet4j.core.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.testing.MiniSafetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.unet4j.core.kernels.ReferenceTestSupport.K;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference kernels composed into single diffusers modules, against the module outputs diffusers itself recorded
 * in the golden fixtures (float32 torch vs our double-accumulating loops agree to a few 1e-7 of each tensor's largest magnitude).
 */
class ReferenceFixtureTest {
    /** Float32 torch against double accumulation; measured 1e-7 to 3e-7 of the largest magnitude. */
    private static final double REL_TOL = 2e-6;

    /** One fixture case: weights, inputs, recorded outputs and the norm eps table. */
    private static final class Case implements AutoCloseable {
        final String name;
        final MiniSafetensors weights, outputs;
        final JsonNode meta;
        final Workspace ws = ReferenceTestSupport.ws();
        private final List<Tensor> owned = new ArrayList<>();

        Case(String name) {
            this.name = name;
            Path dir = Fixtures.fixture(name);
            weights = MiniSafetensors.read(dir.resolve("diffusion_pytorch_model.safetensors"));
            outputs = MiniSafetensors.read(dir.resolve("outputs.safetensors"));
            try {
                meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Tensor weight(String key) {
            return keep(tensorOf(weights.get(key)));
        }

        /** A recorded module output, following meta.json's output_aliases for duplicates. */
        Tensor output(String key) {
            JsonNode alias = meta.get("output_aliases").get(key);
            return keep(tensorOf(outputs.get(alias != null && !outputs.contains(key) ? alias.asText() : key)));
        }

        float eps(String normModule) {
            return (float) meta.get("norm_modules").get(normModule).get("eps").asDouble();
        }

        int groups(String normModule) {
            return meta.get("norm_modules").get(normModule).get("num_groups").asInt();
        }

        Tensor keep(Tensor t) {
            owned.add(t);
            return t;
        }

        Tensor conv(String prefix, Conv2dSpec spec, Tensor x, Tensor residual) {
            try (Conv2d c = K.conv2d(spec, weight(prefix + ".weight"), weight(prefix + ".bias"))) {
                return keep(c.forward(ws, x, residual, 1f));
            }
        }

        Tensor linear(String prefix, Tensor x) {
            return linear(prefix, x, null);
        }

        /** A linear layer, with its bias when the checkpoint has one, and an optional fused residual. */
        Tensor linear(String prefix, Tensor x, Tensor residual) {
            Tensor bias = weights.contains(prefix + ".bias") ? weight(prefix + ".bias") : null;
            try (Linear l = K.linear(weight(prefix + ".weight"), bias)) {
                return keep(l.forward(ws, x, residual, 1f));
            }
        }

        Tensor layerNorm(String module, Tensor x) {
            return keep(K.layerNorm(ws, x, weight(module + ".weight"), weight(module + ".bias"), eps(module)));
        }

        /** diffusers Attention (AttnProcessor) without its own norm or residual; {@code residual} is added after to_out. */
        Tensor attention(String module, Tensor x, Tensor context, Tensor residual) {
            JsonNode a = meta.get("attention_modules").get(module);
            Tensor q = linear(module + ".to_q", x), k = linear(module + ".to_k", context), v = linear(module + ".to_v", context);
            Tensor o = keep(K.attention(ws, q, k, v, a.get("heads").asInt(), (float) a.get("scale").asDouble(), null));
            return linear(module + ".to_out.0", o, residual);
        }

        Tensor groupNorm(String module, Tensor x, boolean silu) {
            return keep(K.groupNorm(ws, x, groups(module), weight(module + ".weight"), weight(module + ".bias"), eps(module), silu));
        }

        void assertMatches(String key, Tensor got) {
            Tensor want = output(key);
            assertArrayEquals(want.shape(), got.shape(), name + " " + key + " shape");
            float[] w = want.toFloatArray(), g = got.toFloatArray();
            double max = 0, err = 0;
            for (int i = 0; i < w.length; i++) {
                max = Math.max(max, Math.abs(w[i]));
                err = Math.max(err, Math.abs(w[i] - g[i]));
            }
            assertTrue(err <= REL_TOL * max, name + " " + key + ": max |diff| " + err + " over max |x| " + max);
        }

        @Override
        public void close() {
            owned.forEach(Tensor::close);
            ws.close();
        }
    }

    private static Tensor tensorOf(MiniSafetensors.Entry e) {
        return Tensor.of(e.floats(), e.shape());
    }

    /** time_embedding = linear_2(silu(linear_1(time_proj))). */
    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void timeEmbeddingMlp(String fixture) {
        try (Case c = new Case(fixture)) {
            Tensor h = c.keep(K.silu(c.ws, c.linear("time_embedding.linear_1", c.output("time_proj"))));
            c.assertMatches("time_embedding", c.linear("time_embedding.linear_2", h));
        }
    }

    /** conv_in (3x3, padding 1) and conv_norm_out (GroupNorm with the model's eps, no activation). */
    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void convInAndNormOut(String fixture) {
        try (Case c = new Case(fixture)) {
            MiniSafetensors inputs = MiniSafetensors.read(Fixtures.fixture(fixture).resolve("inputs.safetensors"));
            Tensor sample = c.keep(tensorOf(inputs.get("sample")));
            c.assertMatches("conv_in", c.conv("conv_in", Conv2dSpec.of((int) sample.dim(1), 32, 3, 1, 1), sample, null));
            c.assertMatches("conv_norm_out", c.groupNorm("conv_norm_out", c.output("up_blocks.2"), false));
        }
    }

    /**
     * ResnetBlock2D down_blocks.0.resnets.0 on conv_in's output: norm1+SiLU, conv1, + time_emb_proj(SiLU(temb)) per
     * channel, norm2+SiLU, conv2 with the input added as the shortcut (output_scale_factor 1).
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void firstResnet(String fixture) {
        String p = "down_blocks.0.resnets.0";
        try (Case c = new Case(fixture)) {
            Tensor x = c.output("skip.0");
            Conv2dSpec spec = Conv2dSpec.of(32, 32, 3, 1, 1);
            Tensor h = c.conv(p + ".conv1", spec, c.groupNorm(p + ".norm1", x, true), null);
            Tensor temb = c.linear(p + ".time_emb_proj", c.keep(K.silu(c.ws, c.output("time_embedding"))));
            Tensor t4 = temb.reshape(temb.dim(0), temb.dim(1), 1, 1);
            h = c.keep(K.add(c.ws, h, t4, 1f, 1f));
            h = c.conv(p + ".conv2", spec, c.groupNorm(p + ".norm2", h, true), x);
            c.assertMatches(p, h);
        }
    }

    /**
     * Downsample2D: a stride-2 3x3 conv; DDPM's downsample_padding=0 pads only right and bottom, SD pads 1 all round.
     * Upsample2D: nearest x2, then a 3x3 conv.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void downAndUpSamplers(String fixture) {
        try (Case c = new Case(fixture)) {
            boolean ddpm = fixture.contains("ddpm");
            Conv2dSpec down = ddpm ? new Conv2dSpec(32, 32, 3, 3, 2, 2, 0, 1, 0, 1, 1, 1, 1) : Conv2dSpec.of(32, 32, 3, 2, 1);
            c.assertMatches("down_blocks.0", c.conv("down_blocks.0.downsamplers.0.conv", down, c.output("skip.2"), null));

            Tensor x = c.output("up_blocks.0.resnets.2");
            Tensor up = c.keep(K.upsampleNearest(c.ws, x, (int) x.dim(2) * 2, (int) x.dim(3) * 2));
            c.assertMatches("up_blocks.0", c.conv("up_blocks.0.upsamplers.0.conv", Conv2dSpec.of(64, 64, 3, 1, 1), up, null));
        }
    }

    /**
     * DDPM's mid-block Attention (one head of width 64, scale 1/8, group norm, residual): tokens are read as a
     * [B, HW, C] strided view of the normalised NCHW map, and the output is viewed back as NCHW through NHWC strides.
     */
    @Test
    void ddpmMidBlockAttention() {
        String p = "mid_block.attentions.0";
        try (Case c = new Case("unet2d-ddpm-tiny")) {
            JsonNode attn = c.meta.get("attention_modules").get(p);
            Tensor x = c.output("mid_block.resnets.0");
            long b = x.dim(0), ch = x.dim(1), hh = x.dim(2), ww = x.dim(3), hw = hh * ww;
            Tensor norm = c.keep(K.groupNorm(c.ws, x, attn.get("group_norm").get("num_groups").asInt(),
                    c.weight(p + ".group_norm.weight"), c.weight(p + ".group_norm.bias"),
                    (float) attn.get("group_norm").get("eps").asDouble(), false));
            Tensor tokens = norm.view(new long[]{b, hw, ch}, new long[]{ch * hw, 1, hw}, norm.offset());
            Tensor q = c.linear(p + ".to_q", tokens), k = c.linear(p + ".to_k", tokens), v = c.linear(p + ".to_v", tokens);
            Tensor a = c.keep(K.attention(c.ws, q, k, v, attn.get("heads").asInt(), (float) attn.get("scale").asDouble(), null));
            Tensor o = c.linear(p + ".to_out.0", a);
            Tensor oNchw = o.view(new long[]{b, ch, hh, ww}, new long[]{hw * ch, 1, ww * ch, ch}, o.offset());
            float rescale = (float) attn.get("rescale_output_factor").asDouble();
            c.assertMatches(p, c.keep(K.add(c.ws, oNchw, x, 1f / rescale, 1f / rescale)));
        }
    }

    /**
     * SD's Transformer2DModel down_blocks.0.attentions.0 (4 heads of 8): GroupNorm (eps 1e-6), 1x1 proj_in, tokens;
     * LayerNorm + self-attention, LayerNorm + cross-attention on encoder_hidden_states, LayerNorm + GEGLU feed-forward,
     * each with its residual; back to NCHW, 1x1 proj_out plus the block input.
     */
    @Test
    void sdTransformerBlock() {
        String p = "down_blocks.0.attentions.0", tb = p + ".transformer_blocks.0";
        try (Case c = new Case("unet2d-cond-sd-tiny")) {
            MiniSafetensors inputs = MiniSafetensors.read(Fixtures.fixture("unet2d-cond-sd-tiny").resolve("inputs.safetensors"));
            Tensor context = c.keep(tensorOf(inputs.get("encoder_hidden_states")));
            Tensor x = c.output("down_blocks.0.resnets.0");
            long b = x.dim(0), ch = x.dim(1), hh = x.dim(2), ww = x.dim(3), hw = hh * ww;
            Conv2dSpec oneByOne = Conv2dSpec.of((int) ch, (int) ch, 1, 1, 0);
            Tensor h = c.conv(p + ".proj_in", oneByOne, c.groupNorm(p + ".norm", x, false), null);
            Tensor tokens = h.view(new long[]{b, hw, ch}, new long[]{ch * hw, 1, hw}, h.offset());
            Tensor n1 = c.layerNorm(tb + ".norm1", tokens);
            Tensor t1 = c.attention(tb + ".attn1", n1, n1, tokens);
            Tensor t2 = c.attention(tb + ".attn2", c.layerNorm(tb + ".norm2", t1), context, t1);
            Tensor ff = c.keep(K.geglu(c.ws, c.linear(tb + ".ff.net.0.proj", c.layerNorm(tb + ".norm3", t2))));
            Tensor t3 = c.linear(tb + ".ff.net.2", ff, t2);
            Tensor back = t3.view(new long[]{b, ch, hh, ww}, new long[]{hw * ch, 1, ww * ch, ch}, t3.offset());
            c.assertMatches(p, c.conv(p + ".proj_out", oneByOne, back, x));
        }
    }
}
