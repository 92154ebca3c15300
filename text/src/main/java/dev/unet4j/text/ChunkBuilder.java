package dev.unet4j.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Packs token ids (with weights) into CLIP windows: each closed window becomes {@code [bos] + tokens + [eos]},
 * right-padded with the pad token to {@code length}, weight 1 on BOS, EOS and padding.
 */
final class ChunkBuilder {
    private final int length, bos, eos, pad;
    private final List<int[]> rows = new ArrayList<>(), masks = new ArrayList<>();
    private final List<float[]> weights = new ArrayList<>();
    private int[] tokens;
    private float[] tokenWeights;
    private int size;

    ChunkBuilder(int length, int bos, int eos, int pad) {
        this.length = length;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.tokens = new int[length - 2];
        this.tokenWeights = new float[length - 2];
    }

    /** Tokens in the open window. */
    int size() {
        return size;
    }

    /** Tokens a window holds ({@code length - 2}). */
    int capacity() {
        return tokens.length;
    }

    boolean noneClosed() {
        return rows.isEmpty();
    }

    /** Appends to the open window, which must not be full. */
    void add(int token, float weight) {
        tokens[size] = token;
        tokenWeights[size++] = weight;
    }

    /** Closes the open window (even when empty). */
    void close() {
        closeFirst(size);
    }

    /** Closes a window of the first {@code n} open tokens; the rest stay open, in order. */
    void closeFirst(int n) {
        int[] row = new int[length], mask = new int[length];
        float[] w = new float[length];
        Arrays.fill(row, pad);
        Arrays.fill(w, 1f);
        row[0] = bos;
        System.arraycopy(tokens, 0, row, 1, n);
        System.arraycopy(tokenWeights, 0, w, 1, n);
        row[n + 1] = eos;
        Arrays.fill(mask, 0, n + 2, 1);
        rows.add(row);
        masks.add(mask);
        weights.add(w);
        System.arraycopy(tokens, n, tokens, 0, size - n);
        System.arraycopy(tokenWeights, n, tokenWeights, 0, size - n);
        size -= n;
    }

    ClipChunks result() {
        return new ClipChunks(rows.toArray(new int[0][]), masks.toArray(new int[0][]), weights.toArray(new float[0][]));
    }
}
