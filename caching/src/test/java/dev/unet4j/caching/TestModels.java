package dev.unet4j.caching;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The fixture models on oneDNN and a sequence of distinct UNet calls built from the fixtures' stored inputs: call k
 * has sample {@code sample * (1 - 0.07 k) + 0.05 k} and timestep {@code 900 - 97 k}, so every call differs and a
 * cache that served stale values would show.
 */
public final class TestModels implements AutoCloseable {
    public static final String SD = "unet2d-cond-sd-tiny";
    public static final String DDPM = "unet2d-ddpm-tiny";

    public final DnnlKernels kernels = new DnnlKernels();
    public final UNetModel model;
    private final float[] sample;
    private final long[] sampleShape;
    private final Tensor ehs;
    private final List<Tensor> owned = new ArrayList<>();

    public TestModels(String fixture) {
        Path dir = Fixtures.fixture(fixture);
        try {
            model = UNetModel.load(dir, LoadOptions.of(kernels));
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("inputs.safetensors"))) {
                try (Tensor s = f.load("sample", Allocator.direct())) {
                    sample = s.toFloatArray();
                    sampleShape = s.shape();
                }
                ehs = f.names().contains("encoder_hidden_states") ? f.load("encoder_hidden_states", Allocator.direct()) : null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load fixture " + dir, e);
        }
    }

    /**
     * The stored encoder hidden states of call 0 (a guided batch {@code [uncond; cond]}) as the samplers' guidance
     * halves {@code {uncond, cond}}, each {@code [1, 7, 48]}.
     */
    public TextConditioning[] guidanceHalves() {
        try (Tensor e = call(0).encoderHiddenStates().copy(Allocator.direct())) {
            float[] v = e.toFloatArray();
            int half = v.length / 2;
            return new TextConditioning[] {
                    new TextConditioning(Arrays.copyOfRange(v, 0, half), new int[] {1, 7, 48}),
                    new TextConditioning(Arrays.copyOfRange(v, half, v.length), new int[] {1, 7, 48})};
        }
    }

    public static double timestep(int k) {
        return 900 - 97 * k;
    }

    /** The inputs of test call {@code k} (tensors owned by this object). */
    public synchronized UNetInputs call(int k) {
        float[] v = sample.clone();
        for (int i = 0; i < v.length; i++) v[i] = v[i] * (1 - 0.07f * k) + 0.05f * k;
        Tensor s = Tensor.of(v, sampleShape);
        owned.add(s);
        return UNetInputs.builder(s, Timestep.float64(timestep(k))).encoderHiddenStates(ehs).build();
    }

    public GenerationInfo info(int calls) {
        double[] ts = new double[calls];
        for (int k = 0; k < calls; k++) ts[k] = timestep(k);
        return GenerationInfo.withTimesteps(ts);
    }

    /** Nodes computed at STEM or LAYER level in a trace, in order. */
    public Set<String> computedLayers(List<String> computed) {
        Set<String> out = new LinkedHashSet<>();
        for (String p : computed) {
            if (!model.nodePaths().contains(p)) continue;
            NodeLevel l = model.nodeLevel(p);
            if (l == NodeLevel.STEM || l == NodeLevel.LAYER) out.add(p);
        }
        return out;
    }

    public Set<String> computedLayers(CallTrace t) {
        List<String> c = new ArrayList<>();
        for (CallTrace.NodeRecord r : t.nodes()) if (r.outcome() == CallTrace.Outcome.COMPUTED) c.add(r.path());
        return computedLayers(c);
    }

    /** Outputs of test calls {@code 0..calls-1} on a plain session. */
    public List<float[]> plain(int calls) {
        List<float[]> out = new ArrayList<>();
        try (UNetSession s = model.newSession()) {
            for (int k = 0; k < calls; k++) {
                try (Tensor t = s.forward(call(k))) {
                    out.add(t.toFloatArray());
                }
            }
        }
        return out;
    }

    /** Outputs of test calls {@code 0..calls-1} through {@code cache}. */
    public List<float[]> run(CacheSession cache, int calls) {
        List<float[]> out = new ArrayList<>();
        for (int k = 0; k < calls; k++) {
            try (Tensor t = cache.call(call(k))) {
                out.add(t.toFloatArray());
            }
        }
        return out;
    }

    /** {@code policy} over {@code calls} calls reuses nothing: every output equals the plain run's, bit for bit. */
    public void assertFullCompute(CachePolicy policy, int calls) {
        List<float[]> full = plain(calls);
        try (UNetSession s = model.newSession();
             CacheSession cache = CacheSession.open(s, policy, info(calls))) {
            List<float[]> outs = run(cache, calls);
            for (int k = 0; k < calls; k++) assertArrayEquals(full.get(k), outs.get(k), "call " + k);
        }
    }

    /**
     * Hand re-statement of reuse: call 0 in full capturing {@code nodes}, then call {@code k} with an interceptor
     * returning call 0's capture for each of them.
     */
    public float[] withCall0Outputs(List<String> nodes, int k) {
        try (UNetSession s = model.newSession()) {
            s.capture(nodes);
            s.forward(call(0)).close();
            Map<String, Tensor> kept = new HashMap<>();
            for (String p : nodes) kept.put(p, s.captured(p).copy(s.allocator()));
            s.clearCapture();
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    Tensor c = kept.get(call.path());
                    return c == null ? call.proceed() : call.kernels().copy(call.workspace(), c);
                }
            });
            try (Tensor out = s.forward(call(k))) {
                return out.toFloatArray();
            } finally {
                kept.values().forEach(Tensor::close);
            }
        }
    }

    public static void assertBitEqual(String what, float[] expected, Tensor actual) {
        assertArrayEquals(expected, actual.toFloatArray(), what);
    }

    public static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0, ref = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i] - actual[i]));
            ref = Math.max(ref, Math.abs(expected[i]));
        }
        if (max > tol * (1 + ref)) throw new AssertionError(what + ": max|diff| " + max + " > " + tol + " * (1 + " + ref + ")");
    }

    @Override
    public void close() {
        for (Tensor t : owned) t.close();
        if (ehs != null) ehs.close();
        model.close();
        kernels.close();
    }
}
