package dev.unet4j.caching;

import dev.unet4j.caching.policy.FourierFilter;
import dev.unet4j.caching.policy.SkipTuning;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.SkipEvent;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Skip-Tuning, ScaleLong and FreeU: identity at factor 1, and equal to hand-written interceptors. */
class SkipScalingTest extends SdFixtureTest {
    static float[] one(String policy) {
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse(policy), sd.info(1));
             Tensor t = cache.call(sd.call(0))) {
            return t.toFloatArray();
        }
    }

    static float[] plainWith(NodeInterceptor i) {
        try (UNetSession s = sd.model.newSession()) {
            s.setInterceptor(i);
            try (Tensor t = s.forward(sd.call(0))) {
                return t.toFloatArray();
            }
        }
    }

    @Test
    void unitFactorsAreFullComputeBitForBit() {
        float[] full = plainWith(null);
        assertArrayEquals(full, one("skiptune:top=1,bottom=1"));
        assertArrayEquals(full, one("scalelong:kappa=1"));
        assertArrayEquals(full, one("freeu:b1=1,b2=1,s1=1,s2=1"));
    }

    @Test
    void skipTuningScalesEachSkipByItsLevelFactor() {
        // SD tiny: skip levels 0,0,0,1,1,1,2,2,2 (conv_in, down0 x2, down0's downsampler at level 1, ...)
        double[] f = {1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8};
        assertArrayEquals(f, new SkipTuning(1.0, 0.8).factors(new UNetStructure(sd.model)), 1e-12);
        float[] hand = plainWith(new NodeInterceptor() {
            @Override
            public Tensor onSkipPop(SkipEvent e) {
                return f[e.index()] == 1.0 ? e.tensor() : sdScale(e.tensor(), (float) f[e.index()]);
            }
        });
        assertArrayEquals(hand, one("skiptune:top=1.0,bottom=0.8"));
    }

    @Test
    void scaleLongSqrt2ScalesEverySkip() {
        float[] hand = plainWith(new NodeInterceptor() {
            @Override
            public Tensor onSkipPop(SkipEvent e) {
                return sdScale(e.tensor(), (float) Math.sqrt(0.5));
            }
        });
        assertArrayEquals(hand, one("scalelong:mode=sqrt2"));
    }

    private static Tensor sdScale(Tensor t, float f) {
        return sd.kernels.scale(sd.kernels.newWorkspace(Allocator.direct()), t, f);
    }

    @Test
    void freeuBackboneScalesTheFirstHalfOfChannelsBeforeEachConcatOfUpBlocks0And1() {
        // the hidden states entering the concats of up_blocks.0 / .1: mid_block, up_blocks.0.resnets.0/1 (UpBlock2D),
        // up_blocks.0 itself, up_blocks.1.attentions.0/1
        List<String> b1Nodes = List.of("mid_block", "up_blocks.0.resnets.0", "up_blocks.0.resnets.1");
        List<String> b2Nodes = List.of("up_blocks.0", "up_blocks.1.attentions.0", "up_blocks.1.attentions.1");
        float[] hand = plainWith(new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                Tensor out = call.proceed();
                float b = b1Nodes.contains(call.path()) ? 1.3f : b2Nodes.contains(call.path()) ? 1.4f : 1f;
                if (b == 1f) return out;
                float[] v = out.toFloatArray();
                long c = out.dim(1), hw = out.dim(2) * out.dim(3);
                for (int n = 0; n < out.dim(0); n++)
                    for (int ch = 0; ch < c / 2; ch++)
                        for (int i = 0; i < hw; i++) v[(int) ((n * c + ch) * hw + i)] *= b;
                Tensor r = Tensor.allocate(call.workspace().allocator(), out.shape());
                r.setFrom(v);
                return r;
            }
        });
        assertArrayEquals(hand, one("freeu:b1=1.3,b2=1.4,s1=1,s2=1"));
    }

    @Test
    void freeuLeavesOutWorkThatOnlyServedLayersReadAndChangesNothing() {
        // FreeU + DeepCache: on cheap calls the Fourier filter and backbone scaling feeding layers DeepCache serves are
        // skipped. Outputs equal, call for call, the same composition with DeepCache hiding what it serves (so every
        // transform runs, as before the shortcut)
        CachePolicy deep = CachePolicies.parse("deepcache:interval=2,branch=0");
        CachePolicy hidden = new CachePolicy() {
            @Override
            public String spec() {
                return deep.spec();
            }

            @Override
            public PolicyRun start(RunContext ctx) {
                PolicyRun r = deep.start(ctx);
                return new PolicyRun() {
                    @Override
                    public void beginCall(int callIndex, dev.unet4j.unet.UNetInputs in) {
                        r.beginCall(callIndex, in);
                    }

                    @Override
                    public Tensor intercept(NodeCall call, int callIndex) {
                        return r.intercept(call, callIndex);
                    }

                    @Override
                    public void endCall(int callIndex, dev.unet4j.unet.CallTrace trace) {
                        r.endCall(callIndex, trace);
                    }

                    @Override
                    public String label(int callIndex) {
                        return r.label(callIndex);
                    }

                    @Override
                    public long bytesHeld() {
                        return r.bytesHeld();
                    }

                    @Override
                    public void close() {
                        r.close();
                    }
                };
            }
        };
        CachePolicy freeu = CachePolicies.parse("freeu:b1=1.3,b2=1.4,s1=0.9,s2=0.5");
        List<float[]> fast, slow;
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.compose(List.of(freeu, deep)), sd.info(4))) {
            fast = sd.run(cache, 4);
            assertEquals("reuse b=0", cache.report().calls().get(1).mode(), "call 1 is a cheap call");
        }
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.compose(List.of(freeu, hidden)), sd.info(4))) {
            slow = sd.run(cache, 4);
        }
        for (int k = 0; k < 4; k++) assertArrayEquals(slow.get(k), fast.get(k), "call " + k);
    }

    @Test
    void fourierFilterMatchesAPlainMaskedDft() {
        Random r = new Random(7);
        for (int[] hw : new int[][] {{4, 4}, {5, 6}, {1, 3}, {8, 2}}) {
            int h = hw[0], w = hw[1];
            float[] x = new float[2 * h * w];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            float[] expected = maskedDft(x, 2, h, w, 0.3);
            try (Tensor t = Tensor.of(x, 1, 2, h, w);
                 Tensor y = FourierFilter.apply(t, 1, 0.3f, sd.kernels.newWorkspace(Allocator.direct()));
                 Tensor tl = Tensor.allocateChannelsLast(Allocator.direct(), 1, 2, h, w)) {
                float[] got = y.toFloatArray();
                for (int i = 0; i < got.length; i++) assertEquals(expected[i], got[i], 1e-5, h + "x" + w + " at " + i);
                tl.setFrom(x);                                   // the same values stored channels-last
                try (Tensor yl = FourierFilter.apply(tl, 1, 0.3f, sd.kernels.newWorkspace(Allocator.direct()))) {
                    assertArrayEquals(got, yl.toFloatArray(), h + "x" + w + " channels-last");
                }
                // the same filter as one matmul with the plane operator, on both layouts
                for (Tensor in : new Tensor[]{t, tl}) {
                    try (Tensor ym = FourierFilter.apply(in, 1, 0.3f, sd.kernels, sd.kernels.newWorkspace(Allocator.direct()))) {
                        float[] m = ym.toFloatArray();
                        for (int i = 0; i < m.length; i++) assertEquals(expected[i], m[i], 1e-5, h + "x" + w + " operator at " + i + " of " + in);
                    }
                }
            }
        }
    }

    /** fftn, fftshift, mask the centre window [c-1, c+1) (Python slicing) by scale, ifftshift, ifftn, real. */
    static float[] maskedDft(float[] x, int planes, int h, int w, double scale) {
        float[] out = new float[x.length];
        for (int p = 0; p < planes; p++) {
            double[][] re = new double[h][w], im = new double[h][w];
            for (int ky = 0; ky < h; ky++)
                for (int kx = 0; kx < w; kx++)
                    for (int y = 0; y < h; y++)
                        for (int xx = 0; xx < w; xx++) {
                            double a = -2 * Math.PI * ((double) ky * y / h + (double) kx * xx / w);
                            re[ky][kx] += x[p * h * w + y * w + xx] * Math.cos(a);
                            im[ky][kx] += x[p * h * w + y * w + xx] * Math.sin(a);
                        }
            // shifted index i holds frequency (i - n/2) mod n
            double[][] mask = new double[h][w];
            for (double[] row : mask) java.util.Arrays.fill(row, 1);
            for (int sy : slice(h))
                for (int sx : slice(w)) mask[Math.floorMod(sy - h / 2, h)][Math.floorMod(sx - w / 2, w)] = scale;
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    double v = 0;
                    for (int ky = 0; ky < h; ky++)
                        for (int kx = 0; kx < w; kx++) {
                            double a = 2 * Math.PI * ((double) ky * y / h + (double) kx * xx / w);
                            v += mask[ky][kx] * (re[ky][kx] * Math.cos(a) - im[ky][kx] * Math.sin(a));
                        }
                    out[p * h * w + y * w + xx] = (float) (v / (h * w));
                }
        }
        return out;
    }

    private static int[] slice(int n) {
        int c = n / 2;
        int from = c - 1 < 0 ? c - 1 + n : c - 1, to = Math.min(c + 1, n);
        return java.util.stream.IntStream.range(from, to).toArray();
    }
}
