package dev.unet4j.caching;

import dev.unet4j.caching.policy.BipartiteSoftMatching;
import dev.unet4j.caching.policy.ToMe;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ToMe against a transcription of tomesd's {@code merge.py} {@code bipartite_soft_matching_random2d}, written here op by
 * op as the torch code reads (scatter into the {@code [hsy, wsx, sy*sx]} buffer, transpose-reshape, argsort, gather,
 * max, scatter_reduce mean, scatter), and of {@code patch.py}'s block forward as a plain interceptor.
 */
class ToMeTest {
    static TestModels sd;

    @BeforeAll
    static void load() {
        sd = new TestModels(TestModels.SD);
    }

    @AfterAll
    static void close() {
        sd.close();
    }

    /** tomesd's merge/unmerge closures for {@code metric[b][n][c]}. */
    static final class Tomesd {
        final int batch, n, r, numDst;
        final int[] aIdx, bIdx;
        final int[][] unmIdx, srcIdx, dstIdx;

        Tomesd(float[][][] metric, int w, int h, int sx, int sy, int rIn, int[][] randIdx) {
            batch = metric.length;
            n = metric[0].length;
            int c = metric[0][0].length;
            int hsy = h / sy, wsx = w / sx;
            long[][][] view = new long[hsy][wsx][sy * sx];                 // zeros; scatter_(2, rand_idx, -1)
            for (int y = 0; y < hsy; y++) for (int x = 0; x < wsx; x++) view[y][x][randIdx == null ? 0 : randIdx[y][x]] = -1;
            long[] buffer = new long[h * w];                                // zeros(h, w); top left = view.transpose(1, 2)
            for (int y = 0; y < hsy; y++) {
                for (int x = 0; x < wsx; x++) {
                    for (int dy = 0; dy < sy; dy++) for (int dx = 0; dx < sx; dx++) buffer[(y * sy + dy) * w + x * sx + dx] = view[y][x][dy * sx + dx];
                }
            }
            Integer[] order = new Integer[h * w];                           // argsort(dim=1), stable
            for (int i = 0; i < order.length; i++) order[i] = i;
            Arrays.sort(order, Comparator.comparingLong(i -> buffer[i]));
            numDst = hsy * wsx;
            bIdx = new int[numDst];
            aIdx = new int[n - numDst];
            for (int i = 0; i < n; i++) {
                if (i < numDst) bIdx[i] = order[i];
                else aIdx[i - numDst] = order[i];
            }
            r = Math.min(aIdx.length, rIn);
            unmIdx = new int[batch][];
            srcIdx = new int[batch][];
            dstIdx = new int[batch][];
            for (int b = 0; b < batch; b++) {
                float[][] m = new float[n][c];                              // metric / metric.norm(dim=-1)
                for (int t = 0; t < n; t++) {
                    double ss = 0;
                    for (float v : metric[b][t]) ss += (double) v * v;
                    float norm = (float) Math.sqrt(ss);
                    for (int i = 0; i < c; i++) m[t][i] = metric[b][t][i] / norm;
                }
                float[] nodeMax = new float[aIdx.length];
                int[] nodeIdx = new int[aIdx.length];
                for (int i = 0; i < aIdx.length; i++) {                     // scores = a @ b^T; max(dim=-1)
                    nodeMax[i] = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < numDst; j++) {
                        double s = 0;
                        for (int k = 0; k < c; k++) s += (double) m[aIdx[i]][k] * m[bIdx[j]][k];
                        if ((float) s > nodeMax[i]) {
                            nodeMax[i] = (float) s;
                            nodeIdx[i] = j;
                        }
                    }
                }
                Integer[] edge = new Integer[aIdx.length];                  // node_max.argsort(descending=True)
                for (int i = 0; i < edge.length; i++) edge[i] = i;
                Arrays.sort(edge, (x, y) -> Float.compare(nodeMax[y], nodeMax[x]));
                unmIdx[b] = new int[edge.length - r];
                srcIdx[b] = new int[r];
                dstIdx[b] = new int[r];
                for (int i = 0; i < edge.length; i++) {
                    if (i < r) {
                        srcIdx[b][i] = edge[i];
                        dstIdx[b][i] = nodeIdx[edge[i]];
                    } else {
                        unmIdx[b][i - r] = edge[i];
                    }
                }
            }
        }

        float[][][] merge(float[][][] x) {
            int c = x[0][0].length;
            float[][][] out = new float[batch][][];
            for (int b = 0; b < batch; b++) {
                float[][] src = new float[aIdx.length][], dst = new float[numDst][];
                for (int i = 0; i < aIdx.length; i++) src[i] = x[b][aIdx[i]];
                for (int j = 0; j < numDst; j++) dst[j] = x[b][bIdx[j]].clone();
                int[] count = new int[numDst];
                Arrays.fill(count, 1);                                      // scatter_reduce(mean), include_self
                for (int k = 0; k < r; k++) {
                    float[] s = src[srcIdx[b][k]];
                    int d = dstIdx[b][k];
                    for (int i = 0; i < c; i++) dst[d][i] += s[i];
                    count[d]++;
                }
                for (int j = 0; j < numDst; j++) if (count[j] > 1) for (int i = 0; i < c; i++) dst[j][i] /= count[j];
                out[b] = new float[unmIdx[b].length + numDst][];           // cat([unm, dst])
                for (int k = 0; k < unmIdx[b].length; k++) out[b][k] = src[unmIdx[b][k]].clone();
                for (int j = 0; j < numDst; j++) out[b][unmIdx[b].length + j] = dst[j];
            }
            return out;
        }

        float[][][] unmerge(float[][][] y) {
            float[][][] out = new float[batch][n][];
            for (int b = 0; b < batch; b++) {
                int unmLen = unmIdx[b].length;
                for (int j = 0; j < numDst; j++) out[b][bIdx[j]] = y[b][unmLen + j];
                for (int k = 0; k < unmLen; k++) out[b][aIdx[unmIdx[b][k]]] = y[b][k];
                for (int k = 0; k < r; k++) out[b][aIdx[srcIdx[b][k]]] = y[b][unmLen + dstIdx[b][k]];
            }
            return out;
        }
    }

    static float[][][] random(Random rnd, int b, int n, int c) {
        float[][][] x = new float[b][n][c];
        for (float[][] m : x) for (float[] row : m) for (int i = 0; i < c; i++) row[i] = (float) rnd.nextGaussian();
        return x;
    }

    static float[] flat(float[][][] x) {
        List<Float> out = new ArrayList<>();
        for (float[][] m : x) for (float[] row : m) for (float v : row) out.add(v);
        float[] f = new float[out.size()];
        for (int i = 0; i < f.length; i++) f[i] = out.get(i);
        return f;
    }

    static float[][][] shape(float[] f, int b, int n, int c) {
        float[][][] x = new float[b][n][c];
        for (int i = 0; i < b; i++) for (int t = 0; t < n; t++) System.arraycopy(f, (i * n + t) * c, x[i][t], 0, c);
        return x;
    }

    static final BipartiteSoftMatching.Scorer PLAIN = (a, b, na, nb, c) -> {
        float[] s = new float[na * nb];
        for (int i = 0; i < na; i++) {
            for (int j = 0; j < nb; j++) {
                double acc = 0;
                for (int k = 0; k < c; k++) acc += (double) a[i * c + k] * b[j * c + k];
                s[i * nb + j] = (float) acc;
            }
        }
        return s;
    };

    @Test
    void mergeAndUnmergeEqualTomesd() {
        Random rnd = new Random(7);
        // 8 x 7 grid: h = 7 is not a multiple of sy = 2, so the last row's tokens are all sources
        int w = 8, h = 7, sx = 2, sy = 2, b = 2, c = 6, n = w * h;
        int[][] choice = new int[h / sy][w / sx];
        int[] flatChoice = new int[(h / sy) * (w / sx)];
        for (int y = 0; y < choice.length; y++) {
            for (int x = 0; x < choice[0].length; x++) {
                choice[y][x] = rnd.nextInt(sx * sy);
                flatChoice[y * choice[0].length + x] = choice[y][x];
            }
        }
        for (int r : new int[] {1, 10, 28, 44, 100}) {             // 100 > sources (44): capped as tomesd
            float[][][] metric = random(rnd, b, n, c), x = random(rnd, b, n, c);
            Tomesd ref = new Tomesd(metric, w, h, sx, sy, r, choice);
            BipartiteSoftMatching m = BipartiteSoftMatching.plan(flat(metric), b, n, c,
                    BipartiteSoftMatching.destinations(w, h, sx, sy, flatChoice), r, PLAIN);
            assertEquals(Math.min(r, 44), m.merged(), "r=" + r);
            float[] merged = m.merge(flat(x), c);
            assertArrayEquals(flat(ref.merge(x)), merged, "merge, r=" + r);
            float[][][] y = random(rnd, b, n - ref.r, 3);                  // an attention output of other width
            assertArrayEquals(flat(ref.unmerge(y)), m.unmerge(flat(y), 3), "unmerge, r=" + r);
        }
        // no_rand: every destination at its cell's top left
        float[][][] metric = random(rnd, b, n, c), x = random(rnd, b, n, c);
        Tomesd ref = new Tomesd(metric, w, h, sx, sy, 20, null);
        BipartiteSoftMatching m = BipartiteSoftMatching.plan(flat(metric), b, n, c,
                BipartiteSoftMatching.destinations(w, h, sx, sy, null), 20, PLAIN);
        assertArrayEquals(flat(ref.merge(x)), m.merge(flat(x), c));
        assertArrayEquals(ref.bIdx, BipartiteSoftMatching.destinations(w, h, sx, sy, null));
        assertEquals(null, BipartiteSoftMatching.plan(flat(metric), b, n, c, ref.bIdx, 0, PLAIN), "r = 0: do_nothing");
    }

    @Test
    void specParsesTomesdDefaults() {
        ToMe d = ToMe.parse(null);
        assertEquals(new ToMe(0.5, 1, 2, 2, true, true, false, false), d);
        assertEquals(d, CachePolicies.parse(d.spec()));
        assertEquals(new ToMe(0.3, 2, 2, 2, false, true, true, true),
                ToMe.parse("ratio=0.3,max-downsample=2,use-rand=false,merge-crossattn=true,merge-mlp=true"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ToMe.parse("ratio=1")).getMessage().contains("[0, 1)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ToMe.parse("use-rand=yes")).getMessage().contains("use-rand=yes"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ToMe.parse("stride=2")).getMessage().contains("unknown key 'stride'"));
    }

    @Test
    void ratioZeroIsFullComputeBitForBit() {
        sd.assertFullCompute(ToMe.parse("ratio=0"), 2);
        sd.assertFullCompute(ToMe.parse("max-downsample=1,ratio=0.5,merge-attn=false"), 1);   // plans, merges nothing
    }

    /**
     * {@code patch.py}'s block forward as a plain interceptor over the tiny SD fixture (16x16 latent, batch 2): at
     * every {@code attn1} whose block has downsample 1, a tomesd plan from the block input with destinations drawn
     * by {@code torch.randint(4, (8, 8, 1))} from a generator seeded with the seed; {@code attn1}, {@code attn2},
     * {@code ff} per flags run on the merged tokens and are unmerged.
     */
    float[] reference(int calls, long seed, boolean rand, boolean crossAndMlp) {
        TorchGenerator g = new TorchGenerator(seed);
        Tomesd[] current = new Tomesd[1];
        float[] last = null;
        try (UNetSession s = sd.model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    NodeKind kind = call.kind();
                    if (kind == NodeKind.ATTN1) {
                        Tensor x = call.residual();
                        int n = (int) x.dim(1), c = (int) x.dim(2), b = (int) x.dim(0);
                        current[0] = null;
                        if (n == 16 * 16) {
                            int[][] choice = new int[8][8];
                            if (rand && b % 2 == 0) {
                                long[] d = g.randint(4, 64);
                                for (int i = 0; i < 64; i++) choice[i / 8][i % 8] = (int) d[i];
                            }
                            current[0] = new Tomesd(shape(x.toFloatArray(), b, n, c), 16, 16, 2, 2, n / 2, choice);
                        }
                    }
                    boolean merge = kind == NodeKind.ATTN1 || (crossAndMlp && (kind == NodeKind.ATTN2 || kind == NodeKind.FEED_FORWARD));
                    if (current[0] == null || !merge) return call.proceed();
                    Tensor in = call.input();
                    int b = (int) in.dim(0), n = (int) in.dim(1), c = (int) in.dim(2);
                    float[][][] m = current[0].merge(shape(in.toFloatArray(), b, n, c));
                    try (Tensor mt = Tensor.of(flat(m), b, m[0].length, c)) {
                        Tensor y = call.proceedWith(mt);
                        float[][][] u = current[0].unmerge(shape(y.toFloatArray(), b, (int) y.dim(1), (int) y.dim(2)));
                        Tensor out = Tensor.allocate(call.workspace().allocator(), b, n, y.dim(2));
                        out.setFrom(flat(u));
                        return out;
                    }
                }
            });
            for (int k = 0; k < calls; k++) {
                try (Tensor t = s.forward(sd.call(k))) {
                    last = t.toFloatArray();
                }
            }
        }
        return last;
    }

    float[] tome(String spec, int calls, long seed, GenerationReport[] report) {
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse(spec), sd.info(calls).withSeed(seed))) {
            List<float[]> outs = sd.run(cache, calls);
            if (report != null) report[0] = cache.report();
            return outs.get(calls - 1);
        }
    }

    @Test
    void policyEqualsTomesdBlockForward() {
        TestModels.assertClose("use-rand=false", reference(2, 0, false, false), tome("tome:use-rand=false", 2, 0, null), 1e-5);
        TestModels.assertClose("seed 5", reference(2, 5, true, false), tome("tome", 2, 5, null), 1e-5);
        TestModels.assertClose("all merges", reference(1, 9, true, true),
                tome("tome:merge-crossattn=true,merge-mlp=true", 1, 9, null), 1e-5);
    }

    @Test
    void seededRunsReproduceAndSeedsMatter() {
        float[] a = tome("tome", 2, 11, null), b = tome("tome", 2, 11, null), other = tome("tome", 2, 12, null);
        assertArrayEquals(a, b, "same seed, same output");
        assertFalse(Arrays.equals(a, other), "another seed draws other destinations");
        float[] fixed = tome("tome:use-rand=false", 2, 11, null);
        assertFalse(Arrays.equals(a, fixed));
        assertArrayEquals(fixed, tome("tome:use-rand=false", 2, 12, null), "without random choice the seed is unused");
    }

    @Test
    void macsCountMergedTokensAgainstFullCompute() {
        GenerationReport[] rep = new GenerationReport[1];
        tome("tome", 2, 0, rep);
        long plain;
        try (UNetSession s = sd.model.newSession()) {
            s.forward(sd.call(0)).close();
            plain = s.lastTrace().macsDone();
        }
        for (CallReport c : rep[0].calls()) {
            assertEquals(plain, c.fullMacs(), "call " + c.callIndex() + ": full compute is the plain call's MACs");
            assertTrue(c.macsDone() < plain, "call " + c.callIndex() + " did less");
            assertTrue(c.mode().contains("tome 5"), c.mode());     // the five 16x16 self-attentions merged
        }
    }
}
