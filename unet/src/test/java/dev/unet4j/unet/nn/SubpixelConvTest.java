package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LayerFactory;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sub-pixel upsampler against nearest 2x upsampling + 3x3 conv on the plain-Java reference backend. */
class SubpixelConvTest {
    private static final ReferenceKernels REF = new ReferenceKernels();
    private static final Conv2dSpec SPEC = Conv2dSpec.of(4, 4, 3, 1, 1);
    private static final String PATH = "up_blocks.0.upsamplers.0.conv";

    @Test
    void phaseKernelsSumTheTapsThatReadTheSameSourcePixel() {
        float[] w = {1, 2, 3, 4, 5, 6, 7, 8, 9};   // one 3x3 kernel, row-major
        // phase 0 reads source rows (i-1, i) with taps ({0}, {1, 2}); phase 1 reads (i, i+1) with ({0, 1}, {2})
        assertArrayEquals(new float[]{1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9}, SubpixelConv.phaseWeight(w, 1, 0, 0));
        assertArrayEquals(new float[]{1 + 2, 3, 4 + 5 + 7 + 8, 6 + 9}, SubpixelConv.phaseWeight(w, 1, 0, 1));
        assertArrayEquals(new float[]{1 + 4, 2 + 3 + 5 + 6, 7, 8 + 9}, SubpixelConv.phaseWeight(w, 1, 1, 0));
        assertArrayEquals(new float[]{1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9}, SubpixelConv.phaseWeight(w, 1, 1, 1));
    }

    @Test
    void equalsUpsampleThenConvOnBothBackends() {
        Random r = new Random(5);
        try (DnnlKernels dnnl = new DnnlKernels();
             Tensor w = randn(r, 4, 4, 3, 3); Tensor b = randn(r, 4); Tensor x = randn(r, 2, 4, 5, 7)) {
            for (Kernels k : new Kernels[]{REF, dnnl}) {
                try (Tensor expected = upsampleConv(x, w, b, null); Tensor actual = run(k, x, w, b, null)) {
                    double err = relativeError(actual, expected);
                    assertTrue(err < 1e-5, k + ": sub-pixel vs upsample + conv, relative error " + err);
                }
            }
        }
    }

    @Test
    void layerAdaptersSeeTheUpsampledMap() {
        Random r = new Random(6);
        try (Tensor w = randn(r, 4, 4, 3, 3); Tensor b = randn(r, 4); Tensor w2 = randn(r, 4, 4, 3, 3); Tensor x = randn(r, 1, 4, 3, 4);
             Conv2d merged = REF.conv2d(SPEC, w2, b)) {
            LayerAdapter delta = new LayerAdapter() {   // a side path of 0.5 * its input, as LoRA adds B(A(x))
                @Override
                public Tensor conv2dDelta(String path, Kernels k, Workspace ws, Tensor in) {
                    return path.equals(PATH) ? k.scale(ws, in, 0.5f) : null;
                }
            };
            LayerAdapter replace = new LayerAdapter() {
                @Override
                public Conv2d conv2d(String path) {
                    return path.equals(PATH) ? merged : null;
                }
            };
            try (Tensor expected = upsampleConv(x, w, b, 0.5f); Tensor actual = run(REF, x, w, b, delta)) {
                assertTrue(relativeError(actual, expected) < 1e-5, "delta adapter: " + relativeError(actual, expected));
            }
            try (Tensor expected = upsampleConv(x, w2, b, null); Tensor actual = run(REF, x, w, b, replace)) {
                assertTrue(relativeError(actual, expected) < 1e-5, "replacing adapter: " + relativeError(actual, expected));
            }
        }
    }

    /** The definition: nearest 2x, then the 3x3 conv, plus {@code deltaScale * upsampled} when given; reference backend. */
    private static Tensor upsampleConv(Tensor x, Tensor w, Tensor b, Float deltaScale) {
        try (Workspace ws = REF.newWorkspace(Allocator.direct());
             Tensor up = REF.upsampleNearest(ws, x, (int) x.dim(2) * 2, (int) x.dim(3) * 2);
             Tensor d = deltaScale == null ? null : REF.scale(ws, up, deltaScale);
             Tensor y = REF.conv2d(ws, SPEC, up, w, b, d, 1f)) {
            return y.copy(Allocator.direct());
        }
    }

    private static Tensor run(Kernels k, Tensor x, Tensor w, Tensor b, LayerAdapter adapter) {
        try (Workspace ws = k.newWorkspace(Allocator.direct()); SubpixelConv conv = new SubpixelConv(PATH, SPEC, w, b, LayerFactory.of(k))) {
            if (adapter != null) ws.attributes().put(LayerAdapter.class, adapter);
            Pass p = new Pass(k, ws, 0, null, Set.of(), new HashMap<>(), null);
            try (Tensor y = conv.forward(p, x)) {
                if (adapter == null) assertEquals(4L * (4 * 4 * 2 * 2) * x.dim(0) * x.dim(2) * x.dim(3), p.macs(), "MACs: four 2x2 phases");
                return y.copy(Allocator.direct());
            }
        }
    }

    private static double relativeError(Tensor a, Tensor e) {
        assertArrayEquals(e.shape(), a.shape());
        float[] av = a.toFloatArray(), ev = e.toFloatArray();
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < av.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(av[i] - ev[i]));
            maxRef = Math.max(maxRef, Math.abs(ev[i]));
        }
        return maxDiff / maxRef;
    }

    private static Tensor randn(Random r, long... shape) {
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }
}
