package dev.unet4j.caching;

import dev.unet4j.caching.policy.DeepCache;
import dev.unet4j.caching.policy.Forecast;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * forecast: over deepcache: against TaylorSeer's {@code derivative_approximation} / {@code taylor_formula} in plain
 * double loops over the node outputs a probe (composed outermost) sees on every call.
 */
class ForecastTest extends SdFixtureTest {
    static final int CALLS = 10;

    /** Records the outputs of {@code nodes} on every call, as the graph receives them. */
    record Probe(Set<String> nodes, Map<Integer, Map<String, float[]>> seen) implements CachePolicy {
        @Override
        public String spec() {
            return "probe";
        }

        @Override
        public PolicyRun start(RunContext context) {
            return new PolicyRun() {
                @Override
                public Tensor intercept(NodeCall call, int callIndex) {
                    Tensor out = call.proceed();
                    if (nodes.contains(call.path())) seen.computeIfAbsent(callIndex, k -> new HashMap<>()).put(call.path(), out.toFloatArray());
                    return out;
                }

                @Override
                public long bytesHeld() {
                    return 0;
                }

                @Override
                public void close() {
                }
            };
        }
    }

    static List<float[]> run(CachePolicy p, List<GenerationReport> report) {
        try (UNetSession s = sd.model.newSession(); CacheSession cache = CacheSession.open(s, p, sd.info(CALLS))) {
            List<float[]> out = sd.run(cache, CALLS);
            report.add(cache.report());
            return out;
        }
    }

    @Test
    void servedOutputsAreTheTaylorSeerForecast() {
        DeepCache dc = DeepCache.uniform(3, 0);
        Set<String> nodes = DeepCache.reusedNodes(new UNetStructure(sd.model), 0);
        for (int order : new int[] {1, 2}) {
            Map<Integer, Map<String, float[]>> seen = new HashMap<>();
            List<GenerationReport> reports = new ArrayList<>();
            run(CachePolicies.compose(List.of(new Probe(nodes, seen), new Forecast(order), dc)), reports);
            boolean[] full = dc.fullCalls(CALLS);
            Map<String, List<double[]>> factors = new HashMap<>();
            Map<String, Integer> last = new HashMap<>();
            double worst = 0, moved = 0;
            for (int k = 0; k < CALLS; k++) {
                for (String n : nodes) {
                    float[] got = seen.get(k).get(n);
                    if (full[k]) {                                   // derivative_approximation
                        List<double[]> old = factors.get(n);
                        List<double[]> fresh = new ArrayList<>();
                        double[] f0 = new double[got.length];
                        for (int i = 0; i < got.length; i++) f0[i] = got[i];
                        fresh.add(f0);
                        for (int i = 0; old != null && i < order && i < old.size(); i++) {
                            double[] d = new double[got.length];
                            for (int j = 0; j < d.length; j++) d[j] = (fresh.get(i)[j] - old.get(i)[j]) / (k - last.get(n));
                            fresh.add(d);
                        }
                        factors.put(n, fresh);
                        last.put(n, k);
                    } else {                                         // taylor_formula
                        int x = k - last.get(n);
                        List<double[]> f = factors.get(n);
                        double scale = 0;
                        for (int j = 0; j < got.length; j++) {
                            double v = 0, coef = 1;
                            for (int i = 0; i < f.size(); i++) {
                                if (i > 0) coef *= (double) x / i;
                                v += coef * f.get(i)[j];
                            }
                            scale = Math.max(scale, Math.abs(v));
                            worst = Math.max(worst, Math.abs(v - got[j]));
                            moved = Math.max(moved, Math.abs(got[j] - f.get(0)[j]));
                        }
                        assertTrue(worst <= 1e-4 * Math.max(1, scale), "order " + order + " call " + k + " " + n + ": " + worst);
                    }
                }
            }
            System.out.printf("forecast:order=%d over deepcache:interval=3: max |served - TaylorSeer| %.3g, max change vs plain reuse %.3g%n",
                    order, worst, moved);
            assertTrue(moved > 1e-3, "the forecast changed the served features (" + moved + ")");
            // MACs: the forecast adds no UNet work; the trace is DeepCache's
            List<GenerationReport> plain = new ArrayList<>();
            run(dc, plain);
            for (int k = 0; k < CALLS; k++) {
                CallReport a = reports.get(0).calls().get(k), b = plain.get(0).calls().get(k);
                assertEquals(b.macsDone(), a.macsDone(), "call " + k);
                assertEquals(b.computed(), a.computed(), "call " + k);
                assertEquals(full[k] || k == 1 || k == 2 ? b.mode() : "forecast " + topLevel(nodes) + " " + b.mode(), a.mode(), "call " + k);
            }
        }
    }

    /** The reused set's outermost nodes (the forecast replaces those; their children do not run). */
    static int topLevel(Set<String> nodes) {
        int n = 0;
        for (String p : nodes) {
            boolean inner = false;
            for (String q : nodes) if (!q.equals(p) && p.startsWith(q + ".")) inner = true;
            if (!inner) n++;
        }
        return n;
    }

    @Test
    void orderZeroIsPlainReuse() {
        List<GenerationReport> r = new ArrayList<>();
        List<float[]> a = run(CachePolicies.parse("forecast:order=0+deepcache:interval=3"), r);
        List<float[]> b = run(CachePolicies.parse("deepcache:interval=3"), r);
        for (int k = 0; k < CALLS; k++) assertArrayEquals(b.get(k), a.get(k), "call " + k);
        assertEquals(new Forecast(2), CachePolicies.parse("forecast"));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("forecast:order=4"));
    }
}
