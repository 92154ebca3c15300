package dev.unet4j.core.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.tensor.PoolingAllocator;
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

import static dev.unet4j.core.kernels.DnnlTestSupport.DNNL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * oneDNN kernels composed into diffusers modules (NHWC activations, fused GroupNorm+SiLU, shortcut fused into the
 * conv, residuals fused into linears) against the module outputs diffusers recorded in the golden fixtures.
 */
class DnnlFixtureTest {
    /** float32 torch vs float32 oneDNN (different summation orders) on one module. */
    private static final double REL_TOL = 1e-5;

    private static final class Case implements AutoCloseable {
        final String name;
        final MiniSafetensors weights, outputs, inputs;
        final JsonNode meta;
        final PoolingAllocator pool = new PoolingAllocator();
        final Workspace ws = DNNL.newWorkspace(pool);
        private final List<AutoCloseable> owned = new ArrayList<>();

        Case(String name) {
            this.name = name;
            Path dir = Fixtures.fixture(name);
            weights = MiniSafetensors.read(dir.resolve("diffusion_pytorch_model.safetensors"));
            outputs = MiniSafetensors.read(dir.resolve("outputs.safetensors"));
            inputs = MiniSafetensors.read(dir.resolve("inputs.safetensors"));
            try {
                meta = new ObjectMapper().readTree(dir.resolve("meta.json").toFile());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        <T extends AutoCloseable> T keep(T t) {
            owned.add(t);
            return t;
        }

        Tensor weight(String key) {
            return weights.contains(key) ? keep(tensorOf(weights.get(key))) : null;
        }

        Tensor output(String key) {
            JsonNode alias = meta.get("output_aliases").get(key);
            return keep(tensorOf(outputs.get(alias != null && !outputs.contains(key) ? alias.asText() : key)));
        }

        JsonNode norm(String module) {
            return meta.get("norm_modules").get(module);
        }

        Tensor groupNorm(String module, Tensor x, boolean silu) {
            JsonNode n = norm(module);
            return keep(DNNL.groupNorm(ws, x, n.get("num_groups").asInt(), weight(module + ".weight"), weight(module + ".bias"),
                    (float) n.get("eps").asDouble(), silu));
        }

        Tensor layerNorm(String module, Tensor x) {
            return keep(DNNL.layerNorm(ws, x, weight(module + ".weight"), weight(module + ".bias"), (float) norm(module).get("eps").asDouble()));
        }

        Tensor conv(String prefix, Conv2dSpec spec, Tensor x, Tensor residual) {
            Conv2d c = keep(DNNL.conv2d(spec, weight(prefix + ".weight"), weight(prefix + ".bias")));
            return keep(c.forward(ws, x, residual, 1f));
        }

        Tensor linear(String prefix, Tensor x, Tensor residual) {
            Linear l = keep(DNNL.linear(weight(prefix + ".weight"), weight(prefix + ".bias")));
            return keep(l.forward(ws, x, residual, 1f));
        }

        Tensor attention(String module, Tensor x, Tensor context, Tensor residual) {
            JsonNode a = meta.get("attention_modules").get(module);
            Tensor q = linear(module + ".to_q", x, null), k = linear(module + ".to_k", context, null), v = linear(module + ".to_v", context, null);
            Tensor o = keep(DNNL.attention(ws, q, k, v, a.get("heads").asInt(), (float) a.get("scale").asDouble(), null));
            return linear(module + ".to_out.0", o, residual);
        }

        void assertMatches(String key, Tensor got) {
            Tensor want = output(key);
            assertArrayEquals(want.shape(), got.shape(), name + " " + key + " shape");
            double err = DnnlTestSupport.relError(want.toFloatArray(), got.toFloatArray());
            assertTrue(err <= REL_TOL, name + " " + key + ": max|diff| / max|x| = " + err);
        }

        @Override
        public void close() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            ws.close();
            pool.close();
        }
    }

    private static Tensor tensorOf(MiniSafetensors.Entry e) {
        return Tensor.of(e.floats(), e.shape());
    }

    /** An NCHW-shaped map as tokens {@code [B, H*W, C]} through its strides (H and W must fold, as in NCHW and NHWC). */
    private static Tensor tokens(Tensor x) {
        assertTrue(x.stride(2) == x.dim(3) * x.stride(3), "H and W fold into one token axis: " + x);
        return x.view(new long[]{x.dim(0), x.dim(2) * x.dim(3), x.dim(1)}, new long[]{x.stride(0), x.stride(3), x.stride(1)}, x.offset());
    }

    /** Row-major tokens {@code [B, H*W, C]} seen as an NCHW-shaped map stored NHWC. */
    private static Tensor map(Tensor t, long h, long w) {
        long b = t.dim(0), c = t.dim(2);
        return t.view(new long[]{b, c, h, w}, new long[]{h * w * c, 1, w * c, c}, t.offset());
    }

    @ParameterizedTest
    @ValueSource(strings = {"unet2d-ddpm-tiny", "unet2d-cond-sd-tiny"})
    void timeEmbeddingConvInAndFirstResnet(String fixture) {
        String p = "down_blocks.0.resnets.0";
        try (Case c = new Case(fixture)) {
            Tensor h1 = c.keep(DNNL.silu(c.ws, c.linear("time_embedding.linear_1", c.output("time_proj"), null)));
            c.assertMatches("time_embedding", c.linear("time_embedding.linear_2", h1, null));

            Tensor sample = c.keep(tensorOf(c.inputs.get("sample")));
            c.assertMatches("conv_in", c.conv("conv_in", Conv2dSpec.of((int) sample.dim(1), 32, 3, 1, 1), sample, null));

            Tensor x = c.keep(DNNL.copy(c.ws, c.output("skip.0")));
            Conv2dSpec spec = Conv2dSpec.of(32, 32, 3, 1, 1);
            Tensor h = c.conv(p + ".conv1", spec, c.groupNorm(p + ".norm1", x, true), null);
            Tensor temb = c.linear(p + ".time_emb_proj", c.keep(DNNL.silu(c.ws, c.output("time_embedding"))), null);
            h = c.keep(DNNL.add(c.ws, h, temb.reshape(temb.dim(0), temb.dim(1), 1, 1), 1f, 1f));
            c.assertMatches(p, c.conv(p + ".conv2", spec, c.groupNorm(p + ".norm2", h, true), x));
        }
    }

    /** SD Transformer2DModel: GroupNorm, 1x1 proj_in, self/cross attention, GEGLU feed-forward, proj_out + input. */
    @Test
    void sdTransformerBlock() {
        String p = "down_blocks.0.attentions.0", tb = p + ".transformer_blocks.0";
        try (Case c = new Case("unet2d-cond-sd-tiny")) {
            Tensor context = c.keep(tensorOf(c.inputs.get("encoder_hidden_states")));
            Tensor x = c.keep(DNNL.copy(c.ws, c.output("down_blocks.0.resnets.0")));
            int ch = (int) x.dim(1);
            Conv2dSpec oneByOne = Conv2dSpec.of(ch, ch, 1, 1, 0);
            Tensor t0 = tokens(c.conv(p + ".proj_in", oneByOne, c.groupNorm(p + ".norm", x, false), null));
            Tensor n1 = c.layerNorm(tb + ".norm1", t0);
            Tensor t1 = c.attention(tb + ".attn1", n1, n1, t0);
            Tensor t2 = c.attention(tb + ".attn2", c.layerNorm(tb + ".norm2", t1), context, t1);
            Tensor ff = c.keep(DNNL.geglu(c.ws, c.linear(tb + ".ff.net.0.proj", c.layerNorm(tb + ".norm3", t2), null)));
            Tensor t3 = c.linear(tb + ".ff.net.2", ff, t2);
            c.assertMatches(p, c.conv(p + ".proj_out", oneByOne, map(t3, x.dim(2), x.dim(3)), x));
        }
    }
}
