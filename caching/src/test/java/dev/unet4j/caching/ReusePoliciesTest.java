package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Feature inheritance, adaptive caching, byte bounds and concurrent generations. */
class ReusePoliciesTest extends SdFixtureTest {
    static final String ATTN2 = "up_blocks.*.attentions.*.transformer_blocks.*.attn2";

    @Test
    void inheritanceReusesTheSelectedUnitsOnChosenCalls() {
        List<String> attn2 = sd.model.nodePaths().stream().filter(p -> p.matches("up_blocks\\.\\d+\\.attentions\\.\\d+\\.transformer_blocks\\.\\d+\\.attn2")).toList();
        assertEquals(6, attn2.size(), "SD tiny has 2 cross-attention up blocks x 3 layers");
        // by hand: call 0 plain with captures, call 1 with those captures in place of the attn2 outputs
        float[] hand1 = sd.withCall0Outputs(attn2, 1);
        List<float[]> full = sd.plain(3);
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("inherit:nodes=" + ATTN2 + ",every=2"), sd.info(3))) {
            List<float[]> outs = sd.run(cache, 3);
            assertArrayEquals(full.get(0), outs.get(0), "call 0 computes");
            assertArrayEquals(hand1, outs.get(1), "call 1 inherits attn2 from call 0");
            assertArrayEquals(full.get(2), outs.get(2), "call 2 computes again");
            CallReport c1 = cache.report().calls().get(1);
            for (String p : attn2) assertTrue(!c1.ran(p), p + " reused on call 1");
            assertTrue(c1.ran("up_blocks.1.attentions.0.transformer_blocks.0.attn1"));
            assertEquals("inherit 6", c1.mode());
        }
    }

    @Test
    void aServedFinalNodeGivesTheCallerItsOwnTensor() {
        // cached nodes reach the graph as views of the cache entry; when the served node is the UNet's last one, the
        // call's result must still be the caller's own: intact after the entry is replaced and the pool reuses it
        List<float[]> full = sd.plain(4);
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("inherit:nodes=conv_out,every=2"), sd.info(4))) {
            cache.call(0, sd.call(0)).close();
            try (Tensor y1 = cache.call(1, sd.call(1))) {
                assertTrue(y1.isOwner(), "call 1's result owns its buffer");
                cache.call(2, sd.call(2)).close();                 // replaces the conv_out entry
                try (Tensor y3 = cache.call(3, sd.call(3))) {
                    assertArrayEquals(full.get(0), y1.toFloatArray(), "call 1 returned call 0's conv_out, still intact");
                    assertArrayEquals(full.get(2), y3.toFloatArray(), "call 3 returns call 2's conv_out");
                }
            }
        }
    }

    @Test
    void adaptiveWithThresholdZeroIsFullCompute() {
        sd.assertFullCompute(CachePolicies.parse("adaptive:threshold=0,warmup=1,cooldown=0,max-run=5"), 3);
    }

    @Test
    void adaptiveReuseAddsTheCachedResidualToTheFreshProbe() {
        // by hand: residual = up_blocks.2 output - conv_in output of call 0; call 1's conv_norm_out gets conv_in(x1) + residual
        float[] hand1;
        try (UNetSession s = sd.model.newSession()) {
            s.capture("conv_in", "up_blocks.2");
            s.forward(sd.call(0)).close();
            float[] in0 = s.captured("conv_in").toFloatArray(), up0 = s.captured("up_blocks.2").toFloatArray();
            long[] shape = s.captured("up_blocks.2").shape();
            s.clearCapture();
            Tensor[] probe = new Tensor[1];
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    if (call.path().equals("conv_in")) {
                        probe[0] = call.proceed();
                        return probe[0];
                    }
                    if (call.path().equals("up_blocks.2")) {
                        float[] p = probe[0].toFloatArray();
                        for (int i = 0; i < p.length; i++) p[i] = p[i] + (up0[i] - in0[i]);
                        Tensor t = Tensor.allocate(call.workspace().allocator(), shape);
                        t.setFrom(p);
                        return t;
                    }
                    if (call.path().matches("(down_blocks|up_blocks)\\.\\d+|mid_block")) return call.passThrough();
                    return call.proceed();
                }
            });
            try (Tensor t = s.forward(sd.call(1))) {
                hand1 = t.toFloatArray();
            }
        }
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("adaptive:threshold=100,warmup=1,cooldown=1,max-run=2"), sd.info(5))) {
            List<float[]> outs = sd.run(cache, 5);
            TestModels.assertClose("call 1 vs hand", hand1, outs.get(1), 1e-6);
            List<String> modes = cache.report().calls().stream().map(c -> c.mode().startsWith("reuse") ? "reuse" : c.mode()).toList();
            assertEquals(List.of("full", "reuse", "reuse", "full", "full"), modes, "warm-up, max-run 2, cool-down 1");
            CallReport c1 = cache.report().calls().get(1);
            assertEquals(java.util.Set.of("time_proj", "time_embedding", "conv_in", "conv_norm_out", "conv_out"), sd.computedLayers(c1.computed()));
        }
    }

    @Test
    void byteBoundFailsOrFallsBackToFullCompute() {
        IllegalStateException none = null;
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=2,branch=0"), sd.info(2),
                     CacheOptions.bounded(1000, CacheOptions.Overflow.FAIL))) {
            CacheBudgetExceededException e = assertThrows(CacheBudgetExceededException.class, () -> cache.call(sd.call(0)).close());
            assertTrue(e.getMessage().contains("1000-byte cache bound"), e.getMessage());
        }
        List<float[]> full = sd.plain(3);
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=2,branch=0"), sd.info(3),
                     CacheOptions.bounded(20_000, CacheOptions.Overflow.RUN_FULL))) {
            List<float[]> outs = sd.run(cache, 3);
            for (int k = 0; k < 3; k++) assertArrayEquals(full.get(k), outs.get(k), "call " + k);
            assertEquals("full (cache refused)", cache.report().calls().get(1).mode());
            assertTrue(cache.report().peakBytes() <= 20_000);
        }
    }

    @Test
    void twoGenerationsOnOneModelAtOnceGiveWhatEachGivesAlone() throws Exception {
        String[] policies = {"deepcache:interval=2,branch=1", "faster:keys=0,2+freeu:b1=1.2,b2=1.1,s1=0.9,s2=0.5"};
        List<List<float[]>> alone = new ArrayList<>();
        for (String p : policies) alone.add(generate(p));
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<List<float[]>>> futures = new ArrayList<>();
            for (String p : policies) futures.add(pool.submit(() -> generate(p)));
            for (int i = 0; i < policies.length; i++) {
                List<float[]> together = futures.get(i).get();
                for (int k = 0; k < 3; k++) assertArrayEquals(alone.get(i).get(k), together.get(k), policies[i] + " call " + k);
            }
        } finally {
            pool.shutdown();
        }
    }

    private static List<float[]> generate(String policy) {
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse(policy), sd.info(3))) {
            List<float[]> out = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                try (Tensor t = cache.call(sd.call(k))) {
                    out.add(t.toFloatArray());
                }
            }
            return out;
        }
    }
}
