package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.unet4j.core.kernels.ReferenceTestSupport.K;
import static dev.unet4j.core.kernels.ReferenceTestSupport.assertRejects;
import static dev.unet4j.core.kernels.ReferenceTestSupport.nhwc;
import static dev.unet4j.core.kernels.ReferenceTestSupport.random;
import static dev.unet4j.core.kernels.ReferenceTestSupport.run;
import static dev.unet4j.core.kernels.ReferenceTestSupport.s;
import static dev.unet4j.core.kernels.ReferenceTestSupport.t;
import static dev.unet4j.core.kernels.ReferenceTestSupport.ws;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ReferenceShapeOpsTest {

    /**
     * torch's rule (UpSample.h nearest_idx, size given): scale = (float) in / out, src = min(floor(dst * scale), in - 1)
     * in float32; out == 2 in is dst >> 1. Worked out by hand:
     * 4 -> 7: scale 0.5714286; dst*scale = 0, .57, 1.14, 1.71, 2.29, 2.86, 3.43 → [0,0,1,1,2,2,3];
     * 3 -> 8: scale 0.375; 0, .375, .75, 1.125, 1.5, 1.875, 2.25, 2.625 → [0,0,0,1,1,1,2,2];
     * 5 -> 10: dst >> 1 → [0,0,1,1,2,2,3,3,4,4];
     * 7 -> 3: scale 2.3333333; 0, 2.33, 4.67 → [0,2,4];
     * 14 -> 46: (float) 14/46 = 0.30434781 is below 14/46 = 0.30434783, so 23 * scale = 6.9999995 in float32 and
     * src(23) = 6, where exact arithmetic would give 7.
     */
    @Test
    void nearestIndexTables() {
        assertArrayEquals(new int[]{0, 0, 1, 1, 2, 2, 3}, ReferenceKernels.nearestSourceIndex(4, 7));
        assertArrayEquals(new int[]{0, 0, 0, 1, 1, 1, 2, 2}, ReferenceKernels.nearestSourceIndex(3, 8));
        assertArrayEquals(new int[]{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, ReferenceKernels.nearestSourceIndex(5, 10));
        assertArrayEquals(new int[]{0, 2, 4}, ReferenceKernels.nearestSourceIndex(7, 3));
        int[] big = ReferenceKernels.nearestSourceIndex(14, 46);
        assertEquals(6, big[22]);
        assertEquals(6, big[23]);
        assertEquals(7, big[24]);
        assertEquals(13, big[45]);
    }

    /** Values 100*row + col make every output name its source pixel. 4x3 -> 7x8, NHWC input, two channels. */
    @Test
    void upsampleNearestPicksTorchSources() {
        int h = 4, w = 3, oh = 7, ow = 8;
        float[] x = new float[2 * h * w];
        for (int c = 0; c < 2; c++) for (int r = 0; r < h; r++) for (int col = 0; col < w; col++) x[(c * h + r) * w + col] = 1000 * c + 100 * r + col;
        int[] rows = {0, 0, 1, 1, 2, 2, 3}, cols = {0, 0, 0, 1, 1, 1, 2, 2};
        try (Tensor xt = nhwc(x, 1, 2, h, w)) {
            float[] y = run(s(1, 2, oh, ow), ws -> K.upsampleNearest(ws, xt, oh, ow));
            for (int c = 0; c < 2; c++)
                for (int r = 0; r < oh; r++)
                    for (int col = 0; col < ow; col++)
                        assertEquals(1000 * c + 100 * rows[r] + cols[col], y[(c * oh + r) * ow + col], 0f, "y[" + c + "][" + r + "][" + col + "]");
        }
        try (Workspace ws = ws(); Tensor flat = Tensor.zeros(2, 3, 4)) {
            assertRejects("upsampleNearest", () -> K.upsampleNearest(ws, flat, 4, 4), "[2, 3, 4]");
        }
    }

    /** x = 0..24 as 5x5, kernel 3 stride 2: windows at rows/cols {0..2, 2..4}: means 6, 8, 16, 18. 4x4 kernel 2: 2.5, 4.5, 10.5, 12.5. */
    @Test
    void avgPool() {
        float[] x = new float[25];
        for (int i = 0; i < 25; i++) x[i] = i;
        try (Tensor xt = t(x, 1, 1, 5, 5)) {
            assertArrayEquals(new float[]{6, 8, 16, 18}, run(s(1, 1, 2, 2), ws -> K.avgPool2d(ws, xt, 3, 2)), 1e-6f);
        }
        float[] y = new float[32];
        for (int i = 0; i < 32; i++) y[i] = i % 16 + (i / 16) * 100; // two channels
        try (Tensor yt = nhwc(y, 1, 2, 4, 4)) {
            assertArrayEquals(new float[]{2.5f, 4.5f, 10.5f, 12.5f, 102.5f, 104.5f, 110.5f, 112.5f},
                    run(s(1, 2, 2, 2), ws -> K.avgPool2d(ws, yt, 2, 2)), 1e-5f);
        }
    }

    @Test
    void concatAlongDim1() {
        // images: channels of a, then of b, per sample
        try (Tensor a = nhwc(new float[]{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 1, 2); Tensor b = t(new float[]{-1, -2, -3, -4}, 2, 1, 1, 2)) {
            assertArrayEquals(new float[]{1, 2, 3, 4, -1, -2, 5, 6, 7, 8, -3, -4}, run(s(2, 3, 1, 2), ws -> K.concat(ws, a, b)), 0f);
        }
        // tokens [B, T, C]
        try (Tensor a = t(new float[]{1, 2, 3, 4}, 2, 1, 2); Tensor b = t(new float[]{5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 2)) {
            assertArrayEquals(new float[]{1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12}, run(s(2, 3, 2), ws -> K.concat(ws, a, b)), 0f);
        }
        try (Workspace ws = ws(); Tensor a = Tensor.zeros(1, 2, 3, 3); Tensor b = Tensor.zeros(1, 2, 3, 4)) {
            assertRejects("concat", () -> K.concat(ws, a, b), "[1, 2, 3, 3]", "[1, 2, 3, 4]");
        }
    }

    @Test
    void addBroadcastsByNumpyRules() {
        float[] a = random(50, 2 * 3 * 4);
        try (Tensor at = t(a, 2, 3, 4); Tensor row = t(new float[]{1, 2, 3, 4}, 4); Tensor col = t(new float[]{10, 20, 30}, 3, 1);
             Tensor one = t(new float[]{7}, 1); Tensor perBatch = t(new float[]{100, 200}, 2, 1, 1); Tensor same = t(random(51, 24), 2, 3, 4)) {
            float[] same24 = same.toFloatArray();
            float[] y = run(s(2, 3, 4), ws -> K.add(ws, at, row, 2f, 0.5f));
            float[] yc = run(s(2, 3, 4), ws -> K.add(ws, at, col, 1f, 1f));
            float[] y1 = run(s(2, 3, 4), ws -> K.add(ws, at, one, 1f, -1f));
            float[] yb = run(s(2, 3, 4), ws -> K.add(ws, at, perBatch, 1f, 1f));
            float[] ys = run(s(2, 3, 4), ws -> K.add(ws, at, same, 1f, 1f));
            for (int i = 0; i < 24; i++) {
                int bIdx = i / 12, cIdx = (i / 4) % 3, wIdx = i % 4;
                assertEquals(2.0 * a[i] + 0.5 * (wIdx + 1), y[i], 1e-6, "row[" + i + "]");
                assertEquals(a[i] + 10.0 * (cIdx + 1), yc[i], 1e-5, "col[" + i + "]");
                assertEquals(a[i] - 7.0, y1[i], 1e-6, "scalar[" + i + "]");
                assertEquals(a[i] + 100.0 * (bIdx + 1), yb[i], 1e-4, "batch[" + i + "]");
                assertEquals(a[i] + same24[i], ys[i], 1e-6, "same[" + i + "]");
            }
            assertArrayEquals(a, at.toFloatArray(), 0f, "inputs are not modified");
        }
        try (Workspace ws = ws(); Tensor z = Tensor.zeros(2, 3, 4); Tensor b = Tensor.zeros(3); Tensor big = Tensor.zeros(1, 2, 3, 4)) {
            assertRejects("add", () -> K.add(ws, z, b, 1f, 1f), "[3]", "[2, 3, 4]");
            assertRejects("add", () -> K.add(ws, z, big, 1f, 1f), "[1, 2, 3, 4]");
        }
    }

    @Test
    void mulAndScale() {
        float[] x = random(52, 2 * 3 * 2 * 2);
        float[] g = {1, -2, 3, 0.5f, 4, -1};
        try (Tensor xt = nhwc(x, 2, 3, 2, 2); Tensor gt = t(g, 2, 3, 1, 1)) {
            float[] y = run(s(2, 3, 2, 2), ws -> K.mul(ws, xt, gt));
            float[] z = run(s(2, 3, 2, 2), ws -> K.scale(ws, xt, -0.25f));
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i] * g[i / 4], y[i], 0f, "mul[" + i + "]");
                assertEquals(x[i] * -0.25f, z[i], 0f, "scale[" + i + "]");
            }
        }
    }

    /** x = [1, 2 | 3, 4] as [1, 2, 1, 2], scale [[0.5, -1]], shift [[1, 2]] → [1.5+1, 3+1, 0+2, 0+2]. */
    @Test
    void scaleShift() {
        try (Tensor x = t(new float[]{1, 2, 3, 4}, 1, 2, 1, 2); Tensor sc = t(new float[]{0.5f, -1}, 1, 2); Tensor sh = t(new float[]{1, 2}, 1, 2)) {
            assertArrayEquals(new float[]{2.5f, 4, 2, 2}, run(s(1, 2, 1, 2), ws -> K.scaleShift(ws, x, sc, sh)), 0f);
        }
        try (Workspace ws = ws(); Tensor x = Tensor.zeros(2, 2, 1, 2); Tensor sc = Tensor.zeros(1, 2)) {
            assertRejects("scaleShift", () -> K.scaleShift(ws, x, sc, sc), "[1, 2]", "[2, 2]");
        }
    }

    @Test
    void copyMakesContiguous() {
        float[] x = random(53, 2 * 3 * 4 * 5);
        try (Tensor xt = nhwc(x, 2, 3, 4, 5)) {
            assertArrayEquals(x, run(s(2, 3, 4, 5), ws -> K.copy(ws, xt)), 0f);
        }
        // a narrowed (offset, strided) view
        try (Tensor xt = t(x, 2, 3, 4, 5)) {
            Tensor v = xt.narrow(1, 1, 2);
            float[] want = new float[2 * 2 * 20];
            for (int n = 0; n < 2; n++) System.arraycopy(x, n * 60 + 20, want, n * 40, 40);
            assertArrayEquals(want, run(s(2, 2, 4, 5), ws -> K.copy(ws, v)), 0f);
        }
    }

    @Test
    void backendBasics() {
        assertEquals("reference", K.name());
        try (dev.unet4j.core.tensor.PoolingAllocator pool = new dev.unet4j.core.tensor.PoolingAllocator(); Workspace ws = K.newWorkspace(pool)) {
            assertEquals(pool, ws.allocator());
            ws.attributes().put(String.class, "x");
            assertEquals("x", ws.attributes().get(String.class));
            try (Tensor a = Tensor.of(new float[]{1, 2}, 2); Tensor y = K.scale(ws, a, 2f)) {
                assertArrayEquals(new float[]{2, 4}, y.toFloatArray(), 0f);
            }
        }
    }
}
