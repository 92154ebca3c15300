package dev.unet4j.vae;

import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tiled encode/decode: the blend weights against diffusers' formula, seamlessness of the tiling itself, the real VAE
 * against a literal transcription of diffusers' {@code tiled_decode}/{@code tiled_encode}, and working memory.
 */
class TilingTest extends TinyVae { // vae-tiny: 2 levels (f = 2), sample_size 32 -> latent tiles of 16, step 12, blend 8

    static Tensor random(long seed, int... shape) {
        Random r = new Random(seed);
        float[] v = new float[Math.toIntExact(Tensor.numel(Tensor.toLong(shape)))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    static TiledRunner.Tile tile(int h, int w, float value) {
        float[] d = new float[h * w];
        java.util.Arrays.fill(d, value);
        return new TiledRunner.Tile(d, 1, 1, h, w);
    }

    /** blend_v / blend_h with a = 1, b = 0: the blended rows/columns are 1 - y/e, then b unchanged (diffusers' table). */
    @Test
    void blendWeightsAreDiffusersLinearRamp() {
        TiledRunner.Tile a = tile(6, 5, 1f), b = tile(6, 5, 0f);
        TiledRunner.blendV(a, b, 4);
        float[] expectRows = {1f, 0.75f, 0.5f, 0.25f, 0f, 0f};
        for (int y = 0; y < 6; y++) for (int x = 0; x < 5; x++) assertEquals(expectRows[y], b.data()[y * 5 + x], 0f, "row " + y);

        TiledRunner.Tile c = tile(3, 6, 1f), d = tile(3, 6, 0f);
        TiledRunner.blendH(c, d, 4);
        float[] expectCols = {1f, 0.75f, 0.5f, 0.25f, 0f, 0f};
        for (int y = 0; y < 3; y++) for (int x = 0; x < 6; x++) assertEquals(expectCols[x], d.data()[y * 6 + x], 0f, "col " + x);

        // the extent is clipped to the smaller tile: a 2-row neighbour blends over 2 rows, weights 1, 1/2
        TiledRunner.Tile small = tile(2, 5, 1f), e = tile(6, 5, 0f);
        TiledRunner.blendV(small, e, 8);
        assertEquals(1f, e.data()[0], 0f);
        assertEquals(0.5f, e.data()[5], 0f);
        assertEquals(0f, e.data()[10], 0f);

        // a's LAST rows feed b's first rows: a = row index, extent 3 of a 5-row tile reads rows 2, 3, 4
        TiledRunner.Tile ramp = new TiledRunner.Tile(new float[]{0, 1, 2, 3, 4}, 1, 1, 5, 1), f = tile(5, 1, 10f);
        TiledRunner.blendV(ramp, f, 3);
        assertEquals(2f, f.data()[0], 0f);                         // 2 * 1 + 10 * 0
        assertEquals(3f * (2f / 3f) + 10f * (1f / 3f), f.data()[1], 1e-6f);
        assertEquals(4f * (1f / 3f) + 10f * (2f / 3f), f.data()[2], 1e-6f);
        assertEquals(10f, f.data()[3], 0f);
    }

    /** Nearest 4x upsampling of NCHW, a map whose value at a pixel depends on that pixel alone. */
    static Tensor upsample4(Tensor x) {
        int b = (int) x.dim(0), c = (int) x.dim(1), h = (int) x.dim(2), w = (int) x.dim(3);
        float[] v = x.toFloatArray(), o = new float[b * c * h * w * 16];
        for (int bc = 0; bc < b * c; bc++) for (int y = 0; y < 4 * h; y++) for (int xx = 0; xx < 4 * w; xx++) {
            o[(bc * 4 * h + y) * 4 * w + xx] = v[(bc * h + y / 4) * w + xx / 4];
        }
        return Tensor.of(o, b, c, 4 * h, 4 * w);
    }

    /**
     * With a local map, overlapping tiles compute the same values, so any misplaced tile, wrong crop or weights not
     * summing to one shows up: the tiled result must equal the untiled one up to float rounding of the blend (~1 ulp).
     */
    @Test
    void tilingALocalMapIsSeamless() {
        try (Tensor x = random(1, 2, 3, 29, 43); Tensor whole = upsample4(x);
             Tensor tiled = TiledRunner.run(x, 8, 6, 8, 24, n -> 4 * n, TilingTest::upsample4)) {
            assertArrayEquals(whole.shape(), tiled.shape());
            double e = Closeness.relError(whole, tiled);
            assertTrue(e <= 1e-6, "tiled local map differs by " + e);
        }
    }

    // ---------------------------------------------------------------- diffusers' algorithm, transcribed

    /** A tensor as nested [b][c][y][x] arrays, so that the transcription below reads like the Python. */
    static float[][][][] arrays(Tensor t) {
        int b = (int) t.dim(0), c = (int) t.dim(1), h = (int) t.dim(2), w = (int) t.dim(3);
        float[] v = t.toFloatArray();
        float[][][][] a = new float[b][c][h][w];
        for (int i = 0; i < b; i++) for (int j = 0; j < c; j++) for (int y = 0; y < h; y++) System.arraycopy(v, ((i * c + j) * h + y) * w, a[i][j][y], 0, w);
        return a;
    }

    /** Python's blend_v, in place on b. */
    static float[][][][] blendV(float[][][][] a, float[][][][] b, int blendExtent) {
        int ah = a[0][0].length, bh = b[0][0].length;
        blendExtent = Math.min(Math.min(ah, bh), blendExtent);
        for (int y = 0; y < blendExtent; y++) {
            for (int i = 0; i < b.length; i++) for (int c = 0; c < b[0].length; c++) for (int x = 0; x < b[0][0][0].length; x++) {
                b[i][c][y][x] = a[i][c][ah - blendExtent + y][x] * (float) (1 - (double) y / blendExtent) + b[i][c][y][x] * (float) ((double) y / blendExtent);
            }
        }
        return b;
    }

    /** Python's blend_h, in place on b. */
    static float[][][][] blendH(float[][][][] a, float[][][][] b, int blendExtent) {
        int aw = a[0][0][0].length, bw = b[0][0][0].length;
        blendExtent = Math.min(Math.min(aw, bw), blendExtent);
        for (int x = 0; x < blendExtent; x++) {
            for (int i = 0; i < b.length; i++) for (int c = 0; c < b[0].length; c++) for (int y = 0; y < b[0][0].length; y++) {
                b[i][c][y][x] = a[i][c][y][aw - blendExtent + x] * (float) (1 - (double) x / blendExtent) + b[i][c][y][x] * (float) ((double) x / blendExtent);
            }
        }
        return b;
    }

    interface TileMap {
        Tensor apply(Tensor tile);
    }

    /**
     * diffusers 0.31 {@code tiled_decode}/{@code tiled_encode} after the per-tile map: all tiles first ({@code rows}),
     * then blend each into its upper and left neighbour in place, crop to {@code rowLimit}, concatenate.
     */
    static Tensor diffusersTiled(Tensor x, int tileSize, int overlapSize, int blendExtent, int rowLimit, TileMap map) {
        int h = (int) x.dim(2), w = (int) x.dim(3);
        List<List<float[][][][]>> rows = new ArrayList<>();
        for (int i = 0; i < h; i += overlapSize) {
            List<float[][][][]> row = new ArrayList<>();
            for (int j = 0; j < w; j += overlapSize) {
                try (Tensor slice = x.narrow(2, i, Math.min(tileSize, h - i)).narrow(3, j, Math.min(tileSize, w - j)).copy(Allocator.direct());
                     Tensor tile = map.apply(slice)) {
                    row.add(arrays(tile));
                }
            }
            rows.add(row);
        }
        List<float[][][][]> resultRows = new ArrayList<>();
        for (int i = 0; i < rows.size(); i++) {
            List<float[][][][]> row = rows.get(i), resultRow = new ArrayList<>();
            for (int j = 0; j < row.size(); j++) {
                float[][][][] tile = row.get(j);
                if (i > 0) tile = blendV(rows.get(i - 1).get(j), tile, blendExtent);
                if (j > 0) tile = blendH(row.get(j - 1), tile, blendExtent);
                resultRow.add(crop(tile, rowLimit));
            }
            resultRows.add(catW(resultRow));
        }
        return toTensor(catH(resultRows));
    }

    static float[][][][] crop(float[][][][] t, int limit) {
        int h = Math.min(limit, t[0][0].length), w = Math.min(limit, t[0][0][0].length);
        float[][][][] o = new float[t.length][t[0].length][h][w];
        for (int i = 0; i < t.length; i++) for (int c = 0; c < t[0].length; c++) for (int y = 0; y < h; y++) System.arraycopy(t[i][c][y], 0, o[i][c][y], 0, w);
        return o;
    }

    static float[][][][] catW(List<float[][][][]> ts) {
        int h = ts.get(0)[0][0].length, w = ts.stream().mapToInt(t -> t[0][0][0].length).sum();
        float[][][][] o = new float[ts.get(0).length][ts.get(0)[0].length][h][w];
        int x0 = 0;
        for (float[][][][] t : ts) {
            for (int i = 0; i < o.length; i++) for (int c = 0; c < o[0].length; c++) for (int y = 0; y < h; y++) System.arraycopy(t[i][c][y], 0, o[i][c][y], x0, t[0][0][0].length);
            x0 += t[0][0][0].length;
        }
        return o;
    }

    static float[][][][] catH(List<float[][][][]> ts) {
        int h = ts.stream().mapToInt(t -> t[0][0].length).sum();
        float[][][][] o = new float[ts.get(0).length][ts.get(0)[0].length][h][];
        int y0 = 0;
        for (float[][][][] t : ts) {
            for (int i = 0; i < o.length; i++) for (int c = 0; c < o[0].length; c++) for (int y = 0; y < t[0][0].length; y++) o[i][c][y0 + y] = t[i][c][y];
            y0 += t[0][0].length;
        }
        return o;
    }

    static Tensor toTensor(float[][][][] a) {
        int b = a.length, c = a[0].length, h = a[0][0].length, w = a[0][0][0].length;
        float[] v = new float[b * c * h * w];
        for (int i = 0; i < b; i++) for (int j = 0; j < c; j++) for (int y = 0; y < h; y++) System.arraycopy(a[i][j][y], 0, v, ((i * c + j) * h + y) * w, w);
        return Tensor.of(v, b, c, h, w);
    }

    /** post_quant_conv + decoder per tile, as the untiled decode (checked against the fixture) computes it. */
    @Test
    void tiledDecodeIsDiffusersTiledDecode() {
        // latent tile 16 = int(32 / 2), overlap_size int(16 * 0.75) = 12, blend_extent int(32 * 0.25) = 8, row_limit 24
        try (Tensor z = random(7, 2, 4, 41, 30); Tensor tiled = vae.decodeTiled(z);
             Tensor ref = diffusersTiled(z, 16, 12, 8, 24, vae::decode)) {
            assertArrayEquals(new long[]{2, 3, 82, 60}, tiled.shape());
            double e = Closeness.relError(ref, tiled);
            System.out.printf("tiled decode vs diffusers' algorithm: %.2e%n", e);
            assertTrue(e <= 1e-6, "tiled decode differs from diffusers' tiled_decode by " + e);
        }
    }

    /** Encoder + quant_conv per tile (the moments), blended, then the posterior's clamp. */
    @Test
    void tiledEncodeIsDiffusersTiledEncode() {
        // image tile 32, overlap_size int(32 * 0.75) = 24, blend_extent int(16 * 0.25) = 4, row_limit 12
        try (Tensor x = random(8, 1, 3, 76, 90); LatentDistribution d = vae.encodeTiled(x);
             Tensor ref = diffusersTiled(x, 32, 24, 4, 12, tile -> moments(vae.encode(tile)));
             LatentDistribution r = LatentDistribution.ofMoments(ref)) {
            assertArrayEquals(new long[]{1, 4, 38, 45}, d.shape());
            double em = Closeness.relError(r.mean(), d.mean()), el = Closeness.relError(r.logvar(), d.logvar());
            System.out.printf("tiled encode vs diffusers' algorithm: mean %.2e logvar %.2e%n", em, el);
            assertTrue(em <= 1e-6 && el <= 1e-6, "tiled encode differs from diffusers' tiled_encode: " + em + ", " + el);
        }
    }

    /** The moments [B, 2L, h, w] back from a distribution (logvar is within its clamp range here). */
    static Tensor moments(LatentDistribution d) {
        try (d) {
            float[] m = d.mean().toFloatArray(), l = d.logvar().toFloatArray();
            long[] s = d.shape();
            int item = (int) (s[1] * s[2] * s[3]);
            float[] o = new float[2 * m.length];
            for (int b = 0; b < s[0]; b++) {
                System.arraycopy(m, b * item, o, 2 * b * item, item);
                System.arraycopy(l, b * item, o, (2 * b + 1) * item, item);
            }
            return Tensor.of(o, s[0], 2 * s[1], s[2], s[3]);
        }
    }

    /**
     * Working memory: an untiled decode grows with the image, a tiled one stays that of one tile (the output is
     * outside the measured pool: it is the caller's).
     */
    @Test
    void tiledDecodeWorkingMemoryIsBoundedByATile() {
        AtomicLong small = new AtomicLong(), large = new AtomicLong(), untiledSmall = new AtomicLong(), untiledLarge = new AtomicLong();
        AtomicLong oneTile = new AtomicLong();
        try (Tensor zs = random(3, 1, 4, 40, 40); Tensor zl = random(4, 1, 4, 112, 112); Tensor zt = random(5, 1, 4, 16, 16)) {
            vae.decodeTiled(zs, vae.defaultTiling(), small::set).close();
            vae.decodeTiled(zl, vae.defaultTiling(), large::set).close();
            vae.decode(zs, untiledSmall::set).close();
            vae.decode(zl, untiledLarge::set).close();
            vae.decode(zt, oneTile::set).close();
        }
        System.out.printf("peak working bytes: tiled %d -> %d, untiled %d -> %d (7.8x the latent area), one 16x16 tile %d%n",
                small.get(), large.get(), untiledSmall.get(), untiledLarge.get(), oneTile.get());
        // tiles of another shape (right and bottom edges) do not stack their working memory onto a full tile's
        assertTrue(large.get() <= oneTile.get() * 11 / 10, "tiled peak " + large.get() + " vs one tile " + oneTile.get());
        assertEquals(small.get(), large.get(), "tiled working memory must not grow with the image");
        assertTrue(untiledLarge.get() > 5 * untiledSmall.get(), "the untiled decode's memory grows with the image");
        assertTrue(large.get() * 10 < untiledLarge.get(), "tiled decode of 112x112 latents uses a tile's memory");
    }
}
