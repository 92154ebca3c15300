package dev.unet4j.caching.policy;

import java.util.Arrays;

/**
 * ToMe's bipartite soft matching with 2D random destinations, as tomesd's {@code merge.py}
 * {@code bipartite_soft_matching_random2d} computes it: the {@code h x w} tokens are split into destinations (one per
 * {@code sy x sx} cell, at the cell position {@code choices[cell]}, 0 = top left) and sources (the rest, and every
 * token outside the whole cells); each source is matched to its most cosine-similar destination; the {@code r}
 * sources with the best matches are merged into their destinations by mean ({@code scatter_reduce(mode="mean")},
 * which counts the destination itself), and {@link #unmerge} copies each merged output back to its sources.
 *
 * <p>Token order: tomesd takes destinations and sources with an argsort of a {-1, 0} buffer; here both are in raster
 * order (a stable sort). Attention is permutation-equivariant over tokens, so the order changes only the summation
 * order of the floats, never which tokens merge. Not thread-safe; one plan per block visit.
 */
public final class BipartiteSoftMatching {
    /** Scores {@code a @ b^T} of one batch item: {@code a} is {@code [na, c]}, {@code b} {@code [nb, c]}; returns {@code [na, nb]}. */
    public interface Scorer {
        float[] scores(float[] a, float[] b, int na, int nb, int c);
    }

    private final int batch, tokens, r;
    private final int[] srcTokens, dstTokens;      // a_idx, b_idx
    private final int[][] unm, src, dst;           // per item: unm_idx, src_idx (positions in a), dst_idx (positions in b)

    private BipartiteSoftMatching(int batch, int tokens, int r, int[] srcTokens, int[] dstTokens, int[][] unm, int[][] src, int[][] dst) {
        this.batch = batch;
        this.tokens = tokens;
        this.r = r;
        this.srcTokens = srcTokens;
        this.dstTokens = dstTokens;
        this.unm = unm;
        this.src = src;
        this.dst = dst;
    }

    /**
     * The destination tokens (raster order) of an {@code h x w} grid with one destination per whole
     * {@code sy x sx} cell at cell position {@code choices[cy * (w / sx) + cx]} (row-major within the cell), or at
     * position 0 everywhere when {@code choices} is null (tomesd's {@code no_rand}).
     */
    public static int[] destinations(int w, int h, int sx, int sy, int[] choices) {
        int hsy = h / sy, wsx = w / sx;
        if (choices != null && choices.length != hsy * wsx) {
            throw new IllegalArgumentException(choices.length + " destination choices for " + hsy + "x" + wsx + " cells");
        }
        boolean[] isDst = new boolean[h * w];
        for (int cy = 0; cy < hsy; cy++) {
            for (int cx = 0; cx < wsx; cx++) {
                int k = choices == null ? 0 : choices[cy * wsx + cx];
                if (k < 0 || k >= sx * sy) throw new IllegalArgumentException("destination choice " + k + " outside a " + sy + "x" + sx + " cell");
                isDst[(cy * sy + k / sx) * w + cx * sx + k % sx] = true;
            }
        }
        int[] out = new int[hsy * wsx];
        int n = 0;
        for (int t = 0; t < isDst.length; t++) if (isDst[t]) out[n++] = t;
        return out;
    }

    /**
     * The plan for {@code metric} ({@code [batch, tokens, c]}, row-major; tomesd merges on the block's input hidden
     * state) over the destinations {@code dstTokens} ({@link #destinations}), merging {@code r} tokens (at most the
     * number of sources); null when {@code r <= 0} (tomesd's {@code do_nothing}).
     */
    public static BipartiteSoftMatching plan(float[] metric, int batch, int tokens, int c, int[] dstTokens, int r, Scorer scorer) {
        if (metric.length != (long) batch * tokens * c) {
            throw new IllegalArgumentException("metric has " + metric.length + " values, not " + batch + "x" + tokens + "x" + c);
        }
        if (r <= 0) return null;
        boolean[] isDst = new boolean[tokens];
        for (int t : dstTokens) isDst[t] = true;
        int nb = dstTokens.length, na = tokens - nb;
        int[] srcTokens = new int[na];
        for (int t = 0, n = 0; t < tokens; t++) if (!isDst[t]) srcTokens[n++] = t;
        r = Math.min(na, r);

        float[] normed = new float[metric.length];                 // metric / metric.norm(dim=-1, keepdim=True)
        for (int row = 0; row < batch * tokens; row++) {
            int o = row * c;
            double ss = 0;
            for (int i = 0; i < c; i++) ss += (double) metric[o + i] * metric[o + i];
            float norm = (float) Math.sqrt(ss);
            for (int i = 0; i < c; i++) normed[o + i] = metric[o + i] / norm;
        }
        float[] a = gatherRows(normed, batch, tokens, c, srcTokens), b = gatherRows(normed, batch, tokens, c, dstTokens);

        int[][] unm = new int[batch][], src = new int[batch][], dst = new int[batch][];
        for (int bi = 0; bi < batch; bi++) {
            float[] scores = scorer.scores(Arrays.copyOfRange(a, bi * na * c, (bi + 1) * na * c),
                    Arrays.copyOfRange(b, bi * nb * c, (bi + 1) * nb * c), na, nb, c);    // [na, nb]
            float[] nodeMax = new float[na];
            int[] nodeIdx = new int[na];
            for (int i = 0; i < na; i++) {                           // scores.max(dim=-1): first maximum
                int o = i * nb;
                int best = 0;
                for (int j = 1; j < nb; j++) if (scores[o + j] > scores[o + best]) best = j;
                nodeMax[i] = scores[o + best];
                nodeIdx[i] = best;
            }
            Integer[] order = new Integer[na];                       // node_max.argsort(descending=True)
            for (int i = 0; i < na; i++) order[i] = i;
            Arrays.sort(order, (x, y) -> Float.compare(nodeMax[y], nodeMax[x]));
            src[bi] = new int[r];
            dst[bi] = new int[r];
            unm[bi] = new int[na - r];
            for (int k = 0; k < na; k++) {
                if (k < r) {
                    src[bi][k] = order[k];
                    dst[bi][k] = nodeIdx[order[k]];
                } else {
                    unm[bi][k - r] = order[k];
                }
            }
        }
        return new BipartiteSoftMatching(batch, tokens, r, srcTokens, dstTokens, unm, src, dst);
    }

    private static float[] gatherRows(float[] x, int batch, int tokens, int c, int[] rows) {
        float[] out = new float[batch * rows.length * c];
        for (int bi = 0; bi < batch; bi++) {
            for (int k = 0; k < rows.length; k++) {
                System.arraycopy(x, (bi * tokens + rows[k]) * c, out, (bi * rows.length + k) * c, c);
            }
        }
        return out;
    }

    /** Tokens merged away ({@code r}). */
    public int merged() {
        return r;
    }

    /** Tokens after merging. */
    public int mergedTokens() {
        return tokens - r;
    }

    public int sources() {
        return srcTokens.length;
    }

    public int destinationCount() {
        return dstTokens.length;
    }

    /**
     * tomesd's {@code merge(x, mode="mean")}: {@code x} {@code [batch, tokens, c]} to
     * {@code cat([unmerged sources, destinations])}, {@code [batch, tokens - r, c]}; a destination becomes the mean of
     * itself and the sources merged into it.
     */
    public float[] merge(float[] x, int c) {
        int na = srcTokens.length, nb = dstTokens.length, keep = na - r;
        if (x.length != (long) batch * tokens * c) throw new IllegalArgumentException("merge: " + x.length + " values for " + batch + "x" + tokens + "x" + c);
        float[] out = new float[batch * (keep + nb) * c];
        int[] count = new int[nb];
        for (int bi = 0; bi < batch; bi++) {
            int in0 = bi * tokens * c, out0 = bi * (keep + nb) * c;
            for (int k = 0; k < keep; k++) System.arraycopy(x, in0 + srcTokens[unm[bi][k]] * c, out, out0 + k * c, c);
            int d0 = out0 + keep * c;
            for (int j = 0; j < nb; j++) System.arraycopy(x, in0 + dstTokens[j] * c, out, d0 + j * c, c);
            Arrays.fill(count, 1);                                    // include_self
            for (int k = 0; k < r; k++) {
                int from = in0 + srcTokens[src[bi][k]] * c, to = d0 + dst[bi][k] * c;
                for (int i = 0; i < c; i++) out[to + i] += x[from + i];
                count[dst[bi][k]]++;
            }
            for (int j = 0; j < nb; j++) {
                if (count[j] == 1) continue;
                float n = count[j];
                for (int i = 0; i < c; i++) out[d0 + j * c + i] /= n;
            }
        }
        return out;
    }

    /**
     * tomesd's {@code unmerge}: {@code y} {@code [batch, tokens - r, c]} back to {@code [batch, tokens, c]}; every
     * merged source takes its destination's value.
     */
    public float[] unmerge(float[] y, int c) {
        int na = srcTokens.length, nb = dstTokens.length, keep = na - r;
        if (y.length != (long) batch * (keep + nb) * c) throw new IllegalArgumentException("unmerge: " + y.length + " values for " + batch + "x" + (keep + nb) + "x" + c);
        float[] out = new float[batch * tokens * c];
        for (int bi = 0; bi < batch; bi++) {
            int in0 = bi * (keep + nb) * c, out0 = bi * tokens * c, d0 = in0 + keep * c;
            for (int j = 0; j < nb; j++) System.arraycopy(y, d0 + j * c, out, out0 + dstTokens[j] * c, c);
            for (int k = 0; k < keep; k++) System.arraycopy(y, in0 + k * c, out, out0 + srcTokens[unm[bi][k]] * c, c);
            for (int k = 0; k < r; k++) System.arraycopy(y, d0 + dst[bi][k] * c, out, out0 + srcTokens[src[bi][k]] * c, c);
        }
        return out;
    }
}
