package dev.unet4j.quantization.nn;

import dev.unet4j.core.codes.WeightFormat;
import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.PoolingAllocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.QuantizedTensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.WeightQuantizer;
import dev.unet4j.quantization.activation.ActivationQuantParams;
import dev.unet4j.quantization.activation.ActivationScheme;
import dev.unet4j.quantization.activation.ActivationSite;
import dev.unet4j.quantization.activation.StaticActivationScales;
import dev.unet4j.quantization.nn.WeightFootprint.LayerKind;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * W8A8 layers against a plain-Java statement of the same arithmetic: the activation quantized per tensor with
 * {@code q = rint(clamp(x * (1/s), -127, 127))} (float reciprocal, round half to even), int32 accumulation of {@code q * qw},
 * dequantized by {@code s * wScale[o]}, plus bias.
 */
class Int8LayersTest {
    private static final DnnlKernels DNNL = new DnnlKernels();

    @AfterAll
    static void close() {
        DNNL.close();
    }

    private static float dynamicScale(float[] x) {
        float m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m == 0 ? 1 : m / 127f;
    }

    private static int[] quantize(float[] x, float s) {
        int[] q = new int[x.length];
        for (int i = 0; i < x.length; i++) q[i] = (int) Math.rint(Math.max(-127f, Math.min(127f, x[i] * (1f / s))));
        return q;
    }

    /** y[r, o] = s * ws[o] * sum_i qx[r, i] * qw[o, i] + b[o], int32 accumulation. */
    private static float[] linear(int[] qx, float s, QuantizedTensor w, float[] b) {
        int out = w.channels(), in = w.channelLength(), rows = qx.length / in;
        float[] y = new float[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                int acc = 0;
                for (int i = 0; i < in; i++) acc += qx[r * in + i] * w.code((long) o * in + i);
                y[r * out + o] = (float) ((double) acc * s * w.scale(o) + b[o]);
            }
        }
        return y;
    }

    /** NCHW direct convolution with stride 1, the given padding, int32 accumulation. */
    private static float[] conv(int[] qx, float s, int n, int c, int h, int wd, QuantizedTensor w, int k, int pad, float[] b) {
        int out = w.channels(), oh = h + 2 * pad - k + 1, ow = wd + 2 * pad - k + 1;
        float[] y = new float[n * out * oh * ow];
        for (int bn = 0; bn < n; bn++) {
            for (int o = 0; o < out; o++) {
                for (int yy = 0; yy < oh; yy++) {
                    for (int xx = 0; xx < ow; xx++) {
                        int acc = 0;
                        for (int ci = 0; ci < c; ci++) {
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) {
                                    int iy = yy + ky - pad, ix = xx + kx - pad;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                                    acc += qx[((bn * c + ci) * h + iy) * wd + ix] * w.code((((long) o * c + ci) * k + ky) * k + kx);
                                }
                            }
                        }
                        y[((bn * out + o) * oh + yy) * ow + xx] = (float) ((double) acc * s * w.scale(o) + b[o]);
                    }
                }
            }
        }
        return y;
    }

    private static void assertRelClose(float[] want, float[] got, double rel, String what) {
        double max = 0, diff = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs((double) want[i] - got[i]));
        }
        assertTrue(diff <= rel * max, what + ": max|diff| " + diff + " vs max|ref| " + max);
    }

    private static QuantizedTensor int8(String name, float[] w, long... shape) {
        return WeightQuantizer.int8PerChannel().quantize(name, w, shape);
    }

    @Test
    void dynamicLinearEqualsTheInt8Statement() {
        Random rnd = new Random(3);
        int out = 24, in = 48;
        float[] w = QuantizedLayersTest.gaussian(rnd, out * in, 0.2), b = QuantizedLayersTest.gaussian(rnd, out, 0.1);
        float[] x = QuantizedLayersTest.gaussian(rnd, 2 * 7 * in, 1);
        QuantizedTensor q = int8("l.weight", w, out, in);
        float s = dynamicScale(x);
        float[] want = linear(quantize(x, s), s, q, b);
        try (Int8Linear lin = new Int8Linear(DNNL, "l", q, b, 0f); PoolingAllocator pool = new PoolingAllocator(); Workspace ws = DNNL.newWorkspace(pool);
             Tensor xt = Tensor.of(x, 2, 7, in); Tensor y = lin.forward(ws, xt)) {
            assertRelClose(want, y.toFloatArray(), 1e-5, "dynamic W8A8 linear");
            assertEquals((long) out * in + 4L * out + 4L * out, lin.residentBytes());
        }
    }

    @Test
    void convWithDynamicAndCalibratedScalesEqualsTheInt8Statement() {
        Random rnd = new Random(4);
        int n = 2, c = 8, h = 6, wd = 5, out = 12;
        float[] w = QuantizedLayersTest.gaussian(rnd, out * c * 9, 0.2), b = QuantizedLayersTest.gaussian(rnd, out, 0.1);
        float[] x = QuantizedLayersTest.gaussian(rnd, n * c * h * wd, 1.5);
        QuantizedTensor q = int8("c.weight", w, out, c, 3, 3);
        Conv2dSpec spec = Conv2dSpec.of(c, out, 3, 1, 1);
        // A calibrated scale smaller than max|x| / 127 (a power of two, so x * (1/s) is exact): large inputs saturate.
        float calibrated = 1f / 64;
        StaticActivationScales scales = new StaticActivationScales(Map.of(ActivationSite.input("down.conv"),
                new ActivationQuantParams(ActivationScheme.SYMMETRIC_S8, calibrated, 0)));
        float sd = dynamicScale(x);
        float[] wantDynamic = conv(quantize(x, sd), sd, n, c, h, wd, q, 3, 1, b);
        float[] wantStatic = conv(quantize(x, calibrated), calibrated, n, c, h, wd, q, 3, 1, b);
        QuantizingLayerFactory dynamic = new QuantizingLayerFactory(DNNL, (p, t) -> java.util.Optional.of(q), null, Int8Activations.DYNAMIC);
        QuantizingLayerFactory calibratedFactory = new QuantizingLayerFactory(DNNL, (p, t) -> java.util.Optional.of(q), null,
                Int8Activations.calibrated(scales));
        try (Tensor wt = Tensor.of(w, out, c, 3, 3); Tensor bt = Tensor.of(b, out);
             Conv2d cd = dynamic.conv2d("down.conv", spec, wt, bt); Conv2d cs = calibratedFactory.conv2d("down.conv", spec, wt, bt);
             PoolingAllocator pool = new PoolingAllocator(); Workspace ws = DNNL.newWorkspace(pool);
             Tensor xt = Tensor.of(x, n, c, h, wd); Tensor yd = cd.forward(ws, xt); Tensor ys = cs.forward(ws, xt)) {
            assertTrue(cd instanceof Int8Conv2d && ((Int8Conv2d) cs).activationScale() == calibrated);
            assertRelClose(wantDynamic, yd.toFloatArray(), 1e-5, "dynamic W8A8 conv");
            assertRelClose(wantStatic, ys.toFloatArray(), 1e-5, "calibrated W8A8 conv");
            // W8A8 layers have no double-rounded precisions: asking for one is an error, not silently 8 bits.
            ws.attributes().put(WeightPrecision.class, WeightPrecision.uniform(4));
            assertThrows(IllegalStateException.class, () -> cd.forward(ws, xt).close());
        }
    }

    @Test
    void w8a8NeedsOneDnnAndSymmetricScales() {
        assertThrows(IllegalArgumentException.class, () -> new QuantizingLayerFactory(new ReferenceKernels(),
                WeightSource.of(QuantizationPlan.defaults(WeightQuantizer.int8PerChannel())), null, Int8Activations.DYNAMIC));
        StaticActivationScales asym = new StaticActivationScales(Map.of(ActivationSite.input("x"),
                new ActivationQuantParams(ActivationScheme.ASYMMETRIC_U8, 0.1f, 20)));
        assertThrows(IllegalArgumentException.class, () -> Int8Activations.calibrated(asym));
    }

    @Test
    void unetUnderW8A8KeepsTheFloatSetAndTracksFloat() throws Exception {
        Path folder = Fixtures.model("digits-16");
        QuantizationPlan plan = QuantizationPlan.defaults(WeightQuantizer.int8PerChannel());
        Random rnd = new Random(9);
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(DNNL));
             QuantizedUNets.Loaded q = QuantizedUNets.loadWithLayers(folder, DNNL, plan, null, Int8Activations.DYNAMIC);
             Tensor x = Tensor.of(QuantizedLayersTest.gaussian(rnd, 2 * 16 * 16, 1), 2, 1, 16, 16); Tensor labels = Tensor.of(new float[]{3, 8}, 2);
             UNetSession fs = f.newSession(); UNetSession qs = q.model().newSession()) {
            Map<String, LayerKind> kinds = q.footprint().layers();
            for (String p : new String[]{"conv_in", "conv_out", "time_embedding.linear_1", "time_embedding.linear_2", "down_blocks.1.resnets.0.conv_shortcut"}) {
                assertEquals(LayerKind.FLOAT32, kinds.get(p), p);
            }
            for (String p : new String[]{"down_blocks.0.resnets.0.conv1", "down_blocks.0.resnets.0.time_emb_proj", "mid_block.attentions.0.to_q"}) {
                assertEquals(LayerKind.W8A8, kinds.get(p), p);
            }
            kinds.forEach((p, k) -> assertTrue(k == LayerKind.FLOAT32 || k == LayerKind.W8A8, p + " " + k));
            assertTrue(q.layers().isEmpty(), "W8A8 layers keep no heap codes");
            System.out.println("digits-16 W8A8 footprint: " + q.footprint());
            UNetInputs in = UNetInputs.builder(x, Timestep.of(500)).classLabels(labels).build();
            try (Tensor want = fs.forward(in); Tensor got = qs.forward(in)) {
                double db = QuantizedUNetTest.sqnrDb(want.toFloatArray(), got.toFloatArray());
                System.out.println("digits-16 W8A8 one-call SQNR vs float32: " + db + " dB");
                assertTrue(db > 20, "W8A8 UNet call vs float32: SQNR " + db + " dB");
            }
        }
    }
}
