package dev.unet4j.core.kernels;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.DnnlTestSupport.EXACT;
import static dev.unet4j.core.kernels.DnnlTestSupport.REF;
import static dev.unet4j.core.kernels.DnnlTestSupport.assertMatches;
import static dev.unet4j.core.kernels.DnnlTestSupport.relError;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batched matmul and multi-head attention (self, cross, masked, chunked) against the reference. */
class DnnlAttentionTest {

    @Test
    void batchedMatmulWithTransposeBroadcastAndAlpha() {
        try (var t = new DnnlTestSupport.Tensors(31)) {
            Tensor a = t.randn(3, 7, 5), b = t.randn(3, 5, 9), bt = t.randn(3, 9, 5), b1 = t.randn(1, 5, 9);
            assertMatches("matmul", EXACT, (k, ws) -> k.matmul(ws, a, b, false, 1f));
            assertMatches("matmul b^T alpha", EXACT, (k, ws) -> k.matmul(ws, a, bt, true, 0.125f));
            assertMatches("matmul broadcast b", EXACT, (k, ws) -> k.matmul(ws, a, b1, false, -2f));
            Tensor aStrided = t.randn(3, 5, 7).permute(0, 2, 1);
            assertMatches("matmul strided a", EXACT, (k, ws) -> k.matmul(ws, aStrided, b, false, 1f));
        }
    }

    @Test
    void selfAndCrossAttentionWithHeadsAndMask() {
        try (var t = new DnnlTestSupport.Tensors(32)) {
            for (int heads : new int[]{1, 4, 8}) {
                int c = 8 * heads;
                Tensor q = t.randn(2, 13, c), k = t.randn(2, 13, c), v = t.randn(2, 13, c);
                float scale = (float) (1 / Math.sqrt(8));
                assertMatches("self attention heads " + heads, EXACT, (kk, ws) -> kk.attention(ws, q, k, v, heads, scale, null));
                Tensor kc = t.randn(2, 7, c), vc = t.randn(2, 7, c);
                Tensor mask = t.keep(Tensor.of(new float[]{0, 0, -1e9f, 0, 0, 0, -1e9f, 0, 0, 0, 0, 0, 0, -1e9f}, 2, 7));
                assertMatches("cross attention heads " + heads, EXACT, (kk, ws) -> kk.attention(ws, q, kc, vc, heads, scale, null));
                assertMatches("masked cross attention heads " + heads, EXACT, (kk, ws) -> kk.attention(ws, q, kc, vc, heads, scale, mask));
            }
            // q, k, v as column slices of one fused projection [B, T, 3C]
            Tensor qkv = t.randn(2, 10, 3 * 16);
            Tensor q = qkv.narrow(2, 0, 16), k = qkv.narrow(2, 16, 16), v = qkv.narrow(2, 32, 16);
            assertMatches("attention on fused qkv views", EXACT, (kk, ws) -> kk.attention(ws, q, k, v, 2, 0.3f, null));
        }
    }

    @Test
    void longQueriesAreChunkedWithTheSameResult() {
        // a 4 KB score budget: one (batch, head) at a time in chunks of 25 query rows (25*40 floats), shorter last chunk
        try (var t = new DnnlTestSupport.Tensors(33); DnnlKernels chunked = new DnnlKernels(new DnnlKernels.Options(false, 4096))) {
            Tensor q = t.randn(2, 110, 32), k = t.randn(2, 40, 32), v = t.randn(2, 40, 32);
            Tensor mask = t.randn(2, 40);
            float[] want, got;
            try (Workspace ws = REF.newWorkspace(Allocator.direct()); Tensor y = REF.attention(ws, q, k, v, 4, 0.2f, mask)) {
                want = y.toFloatArray();
            }
            try (Workspace ws = chunked.newWorkspace(Allocator.direct()); Tensor y = chunked.attention(ws, q, k, v, 4, 0.2f, mask)) {
                got = y.toFloatArray();
            }
            double err = relError(want, got);
            assertTrue(err <= EXACT, "chunked attention error " + err);
        }
    }

    /** A causal mask, {@code [B, Tq, Tk]} (a row per query, as CLIP's text encoder builds it), all heads in one block and chunked. */
    @Test
    void perQueryCausalMask() {
        try (var t = new DnnlTestSupport.Tensors(34); DnnlKernels chunked = new DnnlKernels(new DnnlKernels.Options(false, 4096))) {
            int b = 2, tq = 37, heads = 4, c = 32;
            Tensor q = t.randn(b, tq, c), k = t.randn(b, tq, c), v = t.randn(b, tq, c);
            float[] causal = new float[b * tq * tq];
            for (int i = 0; i < b; i++) {
                for (int r = 0; r < tq; r++) {
                    for (int j = 0; j < tq; j++) causal[(i * tq + r) * tq + j] = j > r ? -Float.MAX_VALUE : 0f;
                }
            }
            Tensor mask = t.keep(Tensor.of(causal, b, tq, tq));
            float[] want = assertMatches("causal attention", EXACT, (kk, ws) -> kk.attention(ws, q, k, v, heads, 0.25f, mask));
            try (Workspace ws = chunked.newWorkspace(Allocator.direct()); Tensor y = chunked.attention(ws, q, k, v, heads, 0.25f, mask)) {
                double err = relError(want, y.toFloatArray());
                assertTrue(err <= EXACT, "chunked causal attention error " + err);
            }
            // the first query sees only the first key: its output is v's first row in every head
            float[] got = want, v0 = v.toFloatArray();
            for (int i = 0; i < b; i++) {
                for (int ch = 0; ch < c; ch++) assertTrue(Math.abs(got[i * tq * c + ch] - v0[i * tq * c + ch]) < 1e-6, "query 0 of batch " + i);
            }
        }
    }
}
