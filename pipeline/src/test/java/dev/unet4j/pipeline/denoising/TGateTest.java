package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CallReport;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.caching.policy.TGate;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * T-GATE against a transcription of its official SD code: {@code tgate_scheduler}'s flags and
 * {@code tgate_processor}'s per-module cache as a plain interceptor, driven by the {@code SD.py} loop (CFG batch 2
 * before the gate, batch 1 and no guidance combination after it), on the tiny SD fixture.
 */
class TGateTest extends GuidedTinySd {
    static final int STEPS = 8;
    static final double SCALE = 3.0;

    /** {@code tgate_scheduler(cur_step, gate_step, sa_interval, ca_interval, warm_up)}: {ca_cache, ca_reuse, sa_cache, sa_reuse, keep_shape}. */
    static boolean[] scheduler(int cur, int gate, int sa, int ca, int warm) {
        boolean caCache, caReuse, saCache, saReuse, keep;
        if (cur < gate - 1) {
            caCache = false;
            caReuse = false;
            if (cur < warm) {
                saCache = false;
                saReuse = false;
            } else if (cur == warm) {
                saCache = true;
                saReuse = false;
            } else if (cur % sa == 0) {
                saCache = true;
                saReuse = false;
            } else {
                saCache = false;
                saReuse = true;
            }
            keep = true;
        } else if (cur == gate - 1) {
            caCache = true;
            caReuse = false;
            saCache = true;
            saReuse = false;
            keep = false;
        } else {
            caCache = false;
            caReuse = true;
            if (cur % ca == 0) {
                saCache = true;
                saReuse = false;
            } else {
                saCache = false;
                saReuse = true;
            }
            keep = true;
        }
        return new boolean[] {caCache, caReuse, saCache, saReuse, keep};
    }

    static TGate.Action expected(boolean cache, boolean reuse, boolean keep) {
        if (reuse) return TGate.Action.REUSE;
        if (cache) return keep ? TGate.Action.CACHE : TGate.Action.CACHE_MEAN;
        return TGate.Action.COMPUTE;
    }

    @Test
    void scheduleIsTgateScheduler() {
        for (int[] cfg : new int[][] {{10, 5, 1, 2}, {3, 2, 2, 1}, {1, 5, 1, 2}, {6, 1, 3, 0}, {4, 5, 1, 7}}) {
            TGate t = new TGate(cfg[0], cfg[1], cfg[2], cfg[3]);
            for (int s = 0; s < 30; s++) {
                boolean[] f = scheduler(s, cfg[0], cfg[1], cfg[2], cfg[3]);
                String at = t.spec() + " step " + s;
                assertEquals(expected(f[0], f[1], f[4]), t.crossAttention(s), at + " cross");
                assertEquals(expected(f[2], f[3], f[4]), t.selfAttention(s), at + " self");
                assertEquals(s >= cfg[0], t.condOnly(s), at + " batch");
            }
        }
    }

    @Test
    void parsesItsTextForm() {
        TGate t = (TGate) CachePolicies.parse("tgate:gate-step=10");
        assertEquals(new TGate(10, 5, 1, 2), t);
        assertEquals(t, CachePolicies.parse(t.spec()));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("tgate:sp-interval=3"));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("tgate:gate-step=0"));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("tgate:gate-step=4,gate=3"));
    }

    /** {@code tgate_processor} on the transformer attentions: one cache per module, flags set per step. */
    static final class Reference implements NodeInterceptor {
        final Map<String, float[]> cache = new HashMap<>();
        final Map<String, long[]> shapes = new HashMap<>();
        boolean[] flags;

        @Override
        public Tensor intercept(NodeCall call) {
            if (call.kind() != NodeKind.ATTN1 && call.kind() != NodeKind.ATTN2) return call.proceed();
            boolean cross = call.kind() == NodeKind.ATTN2;
            boolean doCache = cross ? flags[0] : flags[2], reuse = cross ? flags[1] : flags[3], keep = flags[4];
            String p = call.path();
            if (reuse && cache.containsKey(p)) {
                try (Tensor t = Tensor.of(cache.get(p), shapes.get(p))) {
                    return call.copyOf(t);
                }
            }
            Tensor out = call.proceed();
            if (doCache) {
                float[] v = out.toFloatArray();
                long[] shape = out.shape();
                if (!keep) {                                   // (hidden_uncond + hidden_pred_text) / 2
                    int half = v.length / 2;
                    float[] m = new float[half];
                    for (int i = 0; i < half; i++) m[i] = (v[i] + v[half + i]) / 2;
                    v = m;
                    shape[0] /= 2;
                }
                cache.put(p, v);
                shapes.put(p, shape);
            }
            return out;
        }
    }

    static Latents generate(Denoiser d) {
        Sampler sampler = Samplers.byName("ddim", SamplerOptions.of(SchedulerConfig.defaults()));
        return sampler.sample(d, SamplingRequest.of(STEPS, new int[] {1, 4, 16, 16}, NoiseSource.seeded(5)));
    }

    /** SD.py's loop: CFG on [x, x] before the gate, the conditional prediction alone after it. */
    static Latents reference(TGate t) {
        try (UNetSession s = sd.model.newSession()) {
            Reference ref = new Reference();
            s.setInterceptor(ref);
            UNetDenoiser unet = new UNetDenoiser(s);
            return generate((x, call) -> {
                int i = call.callIndex();
                ref.flags = scheduler(i, t.gateStep(), t.spInterval(), t.fiInterval(), t.warmUp());
                if (i < t.gateStep()) {
                    Latents out = unet.forward(Latents.concat(x, x), call, uncond.concat(cond));
                    return Guidance.combine(out.slice(0, 1), out.slice(1, 2), SCALE);
                }
                return unet.forward(x, call, cond);
            });
        }
    }

    static Latents plain() {
        try (UNetSession s = sd.model.newSession()) {
            return generate(Guidance.classifierFree(new UNetDenoiser(s), uncond, cond, SCALE, 0));
        }
    }

    @Test
    void generationEqualsTheOfficialLoop() {
        Latents full = plain();
        for (TGate t : List.of(new TGate(5, 2, 2, 1), new TGate(3, 5, 1, 2), new TGate(6, 3, 1, 0))) {
            Latents ref = reference(t);
            CachedRun run = cachedRun(t, STEPS, SCALE, TGateTest::generate);
            Latents got = run.latents();
            GenerationReport r = run.report();
            double d = Closeness.maxAbsDiff(ref.data(), got.data()), off = Closeness.maxAbsDiff(full.data(), got.data());
            System.out.printf("%s: max |tgate - official loop| %.3g, vs full compute %.3g, MACs %.3f of full%n", t.spec(), d, off,
                    (double) r.macsDone() / r.fullMacs());
            assertTrue(d <= 1e-5, t.spec() + ": max |tgate - official loop| = " + d);
            assertTrue(off > 1e-3, t.spec() + ": differs from full compute (" + off + "), so the comparison can fail");
            assertTrace(t, r);
        }
    }

    /** Call for call: which attentions ran, the batch, and MACs against the batch-2 full call. */
    static void assertTrace(TGate t, GenerationReport r) {
        assertEquals(STEPS, r.calls().size());
        long full0 = r.calls().get(0).fullMacs();
        List<String> attn1 = sd.model.nodePaths().stream().filter(p -> p.endsWith(".attn1")).toList();
        List<String> attn2 = sd.model.nodePaths().stream().filter(p -> p.endsWith(".attn2")).toList();
        assertTrue(!attn1.isEmpty() && attn1.size() == attn2.size());
        for (CallReport c : r.calls()) {
            int s = c.callIndex();
            boolean[] f = scheduler(s, t.gateStep(), t.spInterval(), t.fiInterval(), t.warmUp());
            String at = t.spec() + " call " + s + " (" + c.mode() + ")";
            for (String p : attn2) assertEquals(!f[1], c.ran(p), at + " " + p);
            for (String p : attn1) assertEquals(!f[3], c.ran(p), at + " " + p);
            assertEquals(full0, c.fullMacs(), at + ": full compute is the batch-2 call");
            assertEquals(s >= t.gateStep(), c.mode().contains("cond-only"), at);
            if (s >= t.gateStep()) assertTrue(c.macsDone() < full0 / 2, at + ": batch 1 without cross-attention");
            if (s == 0) assertEquals(full0, c.macsDone(), at);
        }
    }
}
