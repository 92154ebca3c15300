package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.function.Function;
import java.util.function.IntUnaryOperator;

/**
 * diffusers' {@code tiled_encode} / {@code tiled_decode} loop: the input is cut into {@code tile x tile} pieces every
 * {@code step} pixels (edge pieces smaller), each piece is mapped on its own, and each mapped tile is blended into its
 * upper and left neighbours over {@code blend} rows/columns ({@link #blendV}, {@link #blendH}, in place, so a tile's
 * neighbours are seen already blended, as in diffusers) and cropped to its top-left {@code rowLimit x rowLimit}.
 *
 * <p>Memory: besides the output, only the mapped tiles of the previous row and of the current row are kept (the map's
 * own working memory is that of one tile), never the whole image's activations.
 */
final class TiledRunner {
    private TiledRunner() {
    }

    /** A mapped tile {@code [b, c, h, w]} as a row-major array. */
    record Tile(float[] data, int b, int c, int h, int w) {
        static Tile of(Tensor t) {
            return new Tile(t.toFloatArray(), (int) t.dim(0), (int) t.dim(1), (int) t.dim(2), (int) t.dim(3));
        }

        int index(int bc, int y, int x) {
            return (bc * h + y) * w + x;
        }
    }

    /**
     * @param x        input {@code [B, C, H, W]} (borrowed)
     * @param tile     input tile size
     * @param step     distance between tile starts ({@code int(tile * (1 - overlap))})
     * @param blend    blend extent in output pixels
     * @param rowLimit output pixels kept per tile
     * @param outSize  the size the map turns an input extent into (x8 for decoding, floor-halving for encoding)
     * @param map      maps one input tile (a view, borrowed) to a standalone tensor the runner closes
     */
    static Tensor run(Tensor x, int tile, int step, int blend, int rowLimit, IntUnaryOperator outSize,
                      Function<Tensor, Tensor> map) {
        if (step <= 0 || rowLimit <= 0) throw new IllegalArgumentException("tiling step " + step + " / row limit " + rowLimit + " must be positive");
        int h = (int) x.dim(2), w = (int) x.dim(3);
        long outH = 0, outW = 0;
        for (int i = 0; i < h; i += step) outH += Math.min(rowLimit, outSize.applyAsInt(Math.min(tile, h - i)));
        for (int j = 0; j < w; j += step) outW += Math.min(rowLimit, outSize.applyAsInt(Math.min(tile, w - j)));
        int cols = (w + step - 1) / step;
        Tile[] prevRow = new Tile[cols], row = new Tile[cols];
        Tensor out = null;
        try {
            long y0 = 0;
            for (int i = 0; i < h; i += step) {
                long x0 = 0;
                int th = 0;
                for (int j = 0, col = 0; j < w; j += step, col++) {
                    Tile t;
                    try (Tensor in = x.narrow(2, i, Math.min(tile, h - i)).narrow(3, j, Math.min(tile, w - j));
                         Tensor mapped = map.apply(in)) {
                        t = Tile.of(mapped);                                 // [B, C', th, tw]
                    }
                    if (out == null) out = Tensor.allocate(t.b, t.c, outH, outW);
                    if (i > 0) blendV(prevRow[col], t, blend);
                    if (j > 0) blendH(row[col - 1], t, blend);
                    row[col] = t;
                    th = Math.min(rowLimit, t.h);
                    int tw = Math.min(rowLimit, t.w);
                    put(out, t, y0, x0, th, tw);
                    x0 += tw;
                }
                y0 += th;
                Tile[] s = prevRow;
                prevRow = row;
                row = s;
                Arrays.fill(row, null);
            }
            Tensor r = out;
            out = null;
            return r;
        } finally {
            if (out != null) out.close();
        }
    }

    /** Copies the top-left {@code th x tw} of {@code t} into {@code out} at ({@code y0}, {@code x0}). */
    private static void put(Tensor out, Tile t, long y0, long x0, int th, int tw) {
        long oh = out.dim(2), ow = out.dim(3);
        if (out.dim(0) != t.b || out.dim(1) != t.c || y0 + th > oh || x0 + tw > ow) {
            throw new IllegalStateException("tile " + t.b + "x" + t.c + "x" + t.h + "x" + t.w + " does not fit the output " + out + " at " + y0 + "," + x0);
        }
        FloatBuffer fb = out.rawBuffer();
        for (int bc = 0; bc < t.b * t.c; bc++) {
            for (int y = 0; y < th; y++) {
                fb.put((int) ((bc * oh + y0 + y) * ow + x0), t.data, t.index(bc, y, 0), tw);
            }
        }
    }

    /** diffusers' {@code blend_v(a, b, extent)}: the top rows of {@code b} fade in from the bottom rows of {@code a}. */
    static void blendV(Tile a, Tile b, int extent) {
        int e = Math.min(Math.min(a.h, b.h), extent);
        if (a.w != b.w || a.b != b.b || a.c != b.c) throw new IllegalStateException("blend_v of tiles of different widths");
        for (int y = 0; y < e; y++) {
            float wb = weight(y, e), wa = (float) (1 - (double) y / e);
            for (int bc = 0; bc < b.b * b.c; bc++) {
                int ia = a.index(bc, a.h - e + y, 0), ib = b.index(bc, y, 0);
                for (int k = 0; k < b.w; k++) b.data[ib + k] = a.data[ia + k] * wa + b.data[ib + k] * wb;
            }
        }
    }

    /** diffusers' {@code blend_h(a, b, extent)}: the left columns of {@code b} fade in from the right columns of {@code a}. */
    static void blendH(Tile a, Tile b, int extent) {
        int e = Math.min(Math.min(a.w, b.w), extent);
        if (a.h != b.h || a.b != b.b || a.c != b.c) throw new IllegalStateException("blend_h of tiles of different heights");
        for (int x = 0; x < e; x++) {
            float wb = weight(x, e), wa = (float) (1 - (double) x / e);
            for (int bc = 0; bc < b.b * b.c; bc++) {
                for (int y = 0; y < b.h; y++) {
                    int ib = b.index(bc, y, x);
                    b.data[ib] = a.data[a.index(bc, y, a.w - e + x)] * wa + b.data[ib] * wb;
                }
            }
        }
    }

    /** {@code x / extent} as the float32 scalar torch multiplies by (Python computes it in double). */
    private static float weight(int x, int extent) {
        return (float) ((double) x / extent);
    }
}
