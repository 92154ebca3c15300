package dev.unet4j.unet;

import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sessions: pooling, threads, input checks, timestep rules, masks, encoder/decoder split, ControlNet residuals. */
class SessionTest {
    static Fixture sd, ddpm;
    static DnnlKernels dnnl;
    static UNetModel sdModel, ddpmModel;

    @BeforeAll
    static void load() throws Exception {
        sd = new Fixture(Fixture.SD);
        ddpm = new Fixture(Fixture.DDPM);
        dnnl = new DnnlKernels();
        sdModel = sd.load(dnnl);
        ddpmModel = ddpm.load(dnnl);
    }

    @AfterAll
    static void close() {
        sdModel.close();
        ddpmModel.close();
        dnnl.close();
        sd.close();
        ddpm.close();
    }

    @Test
    void secondForwardOfTheSameShapesAllocatesNoNativeMemory() {
        try (UNetSession s = sdModel.newSession()) {
            s.capture("down_blocks.1", "skip.3");
            s.forward(sd.inputs()).close();
            long pool = s.allocator().allocations(), global = NativeBuffer.allocationCount();
            s.forward(sd.inputs()).close();
            assertEquals(pool, s.allocator().allocations(), "pool allocations in the second forward");
            assertEquals(global, NativeBuffer.allocationCount(), "native allocations in the second forward");
        }
    }

    @Test
    void twoThreadsWithOwnSessionsGiveBitIdenticalResults() throws Exception {
        float[] single;
        try (UNetSession s = sdModel.newSession(); Tensor y = s.forward(sd.inputs())) {
            single = y.toFloatArray();
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<float[]>> fs = pool.invokeAll(List.of(this::threeCalls, this::threeCalls));
            for (Future<float[]> f : fs) assertArrayEquals(single, f.get());
        } finally {
            pool.shutdown();
        }
    }

    private float[] threeCalls() {
        float[] last = null;
        try (UNetSession s = sdModel.newSession()) {
            for (int i = 0; i < 3; i++) {
                try (Tensor y = s.forward(sd.inputs())) {
                    float[] v = y.toFloatArray();
                    if (last != null) assertArrayEquals(last, v);
                    last = v;
                }
            }
        }
        return last;
    }

    @Test
    void inputsAreCheckedWithSpecificMessages() {
        try (UNetSession s = sdModel.newSession();
             Tensor x = Tensor.zeros(2, 4, 16, 16); Tensor x3 = Tensor.zeros(2, 3, 16, 16);
             Tensor ehsWide = Tensor.zeros(2, 7, 40); Tensor ehsBatch = Tensor.zeros(3, 7, 48); Tensor ehs2d = Tensor.zeros(2, 48)) {
            Timestep t = Timestep.of(10L);
            assertMessage(s, UNetInputs.builder(x, t).build(), "encoder_hidden_states");
            assertMessage(s, UNetInputs.builder(x3, t).encoderHiddenStates(sd.inputs.get("encoder_hidden_states")).build(), "3 channels");
            assertMessage(s, UNetInputs.builder(x, t).encoderHiddenStates(ehsWide).build(), "cross_attention_dim 48");
            assertMessage(s, UNetInputs.builder(x, t).encoderHiddenStates(ehsBatch).build(), "batch 3");
            assertMessage(s, UNetInputs.builder(x, t).encoderHiddenStates(ehs2d).build(), "[B, T, D]");
            assertMessage(s, UNetInputs.builder(x, Timestep.int64(1, 2, 3)).encoderHiddenStates(sd.inputs.get("encoder_hidden_states")).build(),
                    "3 values; expected 1 or the batch size 2");
        }
        try (UNetSession s = ddpmModel.newSession(); Tensor odd = Tensor.zeros(1, 3, 13, 11); Tensor labels = Tensor.zeros(1)) {
            assertMessage(s, UNetInputs.builder(odd, Timestep.of(3L)).build(), "not divisible by 4");
            try (Tensor x = Tensor.zeros(1, 3, 16, 16)) {
                assertMessage(s, UNetInputs.builder(x, Timestep.of(3L)).classLabels(labels).build(), "no class embedding");
            }
        }
    }

    private static void assertMessage(UNetSession s, UNetInputs in, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.forward(in).close());
        assertTrue(e.getMessage().contains(fragment), "message \"" + e.getMessage() + "\" lacks \"" + fragment + "\"");
    }

    @Test
    void timestepTypesFollowEachModelClassRule() {
        Tensor x = ddpm.inputs.get("sample");
        try (UNetSession s = ddpmModel.newSession();
             Tensor a = s.forward(UNetInputs.builder(x, Timestep.of(10.7)).build());      // truncated to 10
             Tensor b = s.forward(UNetInputs.builder(x, Timestep.int64(10, 10)).build());
             Tensor c = s.forward(UNetInputs.builder(x, Timestep.float32(10.7f)).build())) {
            assertArrayEquals(b.toFloatArray(), a.toFloatArray(), "UNet2DModel truncates a Python float");
            assertTrue(Closeness.maxAbsDiff(b, c) > 1e-4, "a float32 tensor timestep is not truncated");
        }
        Tensor e = sd.inputs.get("encoder_hidden_states"), y = sd.inputs.get("sample");
        try (UNetSession s = sdModel.newSession();
             Tensor a = s.forward(UNetInputs.builder(y, Timestep.of(10.7)).encoderHiddenStates(e).build());
             Tensor b = s.forward(UNetInputs.builder(y, Timestep.float32(10.7f, 10.7f)).encoderHiddenStates(e).build());
             Tensor c = s.forward(UNetInputs.builder(y, Timestep.of(10L)).encoderHiddenStates(e).build())) {
            assertArrayEquals(b.toFloatArray(), a.toFloatArray(), "UNet2DConditionModel keeps a Python float (float64 -> float32)");
            assertTrue(Closeness.maxAbsDiff(a, c) > 1e-4, "10.7 is not 10 for the conditional model");
        }
    }

    @Test
    void encoderAttentionMaskDropsTokens() {
        Tensor y = sd.inputs.get("sample"), e = sd.inputs.get("encoder_hidden_states");
        Timestep t = Timestep.float32(sd.inputs.get("timestep").toFloatArray());
        try (UNetSession s = sdModel.newSession();
             Tensor mask = Tensor.of(new float[]{1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0}, 2, 7);
             Tensor ones = Tensor.of(new float[]{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2, 7);
             Tensor first3 = e.narrow(1, 0, 3).copy(dev.unet4j.core.tensor.Allocator.direct());
             Tensor plain = s.forward(UNetInputs.builder(y, t).encoderHiddenStates(e).build());
             Tensor allKept = s.forward(UNetInputs.builder(y, t).encoderHiddenStates(e).encoderAttentionMask(ones).build());
             Tensor masked = s.forward(UNetInputs.builder(y, t).encoderHiddenStates(e).encoderAttentionMask(mask).build());
             Tensor truncated = s.forward(UNetInputs.builder(y, t).encoderHiddenStates(first3).build())) {
            assertArrayEquals(plain.toFloatArray(), allKept.toFloatArray(), "an all-ones mask is a zero bias");
            Fixture.assertClose("mask == dropping the masked tokens", truncated, masked);
            assertTrue(Closeness.maxAbsDiff(plain, masked) > 1e-3, "the mask changes the output");
        }
    }

    @Test
    void encodeThenDecodeEqualsForwardAndDecodeDoesNotConsumeTheState() {
        UNetInputs in = sd.inputs();
        try (UNetSession s = sdModel.newSession(); Tensor full = s.forward(in)) {
            try (EncoderState st = s.encode(in)) {
                assertEquals(sdModel.skipCount(), st.skips().size());
                try (Tensor y1 = s.decode(st, in); Tensor y2 = s.decode(st, in)) {
                    assertArrayEquals(full.toFloatArray(), y1.toFloatArray());
                    assertArrayEquals(full.toFloatArray(), y2.toFloatArray());
                }
                // decoder at another timestep from the same encoder features differs, and is counted as a partial call
                try (Tensor y3 = s.decode(st, in.with(null, Timestep.int64(500)))) {
                    assertTrue(Closeness.maxAbsDiff(full, y3) > 1e-3);
                    CallTrace tr = s.lastTrace();
                    assertTrue(tr.fullMacs() > tr.macsDone() && tr.macsDone() > 0, tr.macsDone() + " of " + tr.fullMacs());
                    assertFalse(tr.nodes().stream().anyMatch(r -> r.path().startsWith("down_blocks")));
                }
            }
        }
    }

    @Test
    void batchedDecoderEqualsOneDecodePerTimestep() throws Exception {
        UNetInputs in = sd.inputs();
        List<Timestep> steps = List.of(Timestep.int64(900), Timestep.of(10.5), Timestep.float32(3f, 400f));
        try (UNetModel refModel = sd.load(new ReferenceKernels()); UNetSession s = refModel.newSession();
             EncoderState st = s.encode(in); Tensor all = s.decodeBatched(st, in, steps)) {
            assertArrayEquals(new long[]{6, 4, 16, 16}, all.shape());
            float[] got = all.toFloatArray();
            int per = got.length / 3;
            for (int k = 0; k < 3; k++) {
                try (Tensor one = s.decode(st, in.with(null, steps.get(k)))) {
                    float[] want = one.toFloatArray();
                    for (int i = 0; i < per; i++) {
                        assertEquals(want[i], got[k * per + i], 1e-5f * (1 + Math.abs(want[i])), "timestep " + k + " element " + i);
                    }
                }
            }
        }
    }

    @Test
    void controlNetResidualsAreAddedToSkipsAndMid() {
        UNetInputs in = sd.inputs();
        int n = sdModel.skipCount();
        try (UNetSession s = sdModel.newSession()) {
            s.capture("mid_block");
            for (int i = 0; i < n; i++) s.capture("skip." + i);
            List<Tensor> res = new java.util.ArrayList<>();
            Tensor midRes;
            try (Tensor y = s.forward(in)) {
                for (int i = 0; i < n; i++) {
                    Tensor sk = s.captured("skip." + i);
                    Tensor r = Tensor.allocate(sk.shape());
                    r.fill(0.01f * (i + 1));
                    res.add(r);
                }
                midRes = Tensor.allocate(s.captured("mid_block").shape());
                midRes.fill(-0.02f);
            }
            // truth: push the residual-added skip through the interceptor hook instead
            float[] expected;
            try (UNetSession t = sdModel.newSession()) {
                t.setInterceptor(new NodeInterceptor() {
                    @Override
                    public Tensor onSkipPop(SkipEvent e) {
                        return e.tensor() == null ? null : t.model().kernels().add(t.workspace(), e.tensor(), res.get(e.index()), 1f, 1f);
                    }

                    @Override
                    public Tensor intercept(NodeCall call) {
                        Tensor out = call.proceed();
                        if (!call.path().equals("mid_block")) return out;
                        return call.kernels().add(call.workspace(), out, midRes, 1f, 1f);
                    }
                });
                try (Tensor y = t.forward(in)) {
                    expected = y.toFloatArray();
                }
            }
            UNetInputs withRes = UNetInputs.builder(in.sample(), in.timestep()).encoderHiddenStates(in.encoderHiddenStates())
                    .controlNetResiduals(res, midRes).build();
            try (Tensor y = s.forward(withRes)) {
                assertArrayEquals(expected, y.toFloatArray());
            }
            res.forEach(Tensor::close);
            midRes.close();
        }
    }

    @Test
    void referenceAndOneDnnAgreeOnOddSizesAndBatchThree() throws Exception {
        try (UNetModel refModel = sd.load(new ReferenceKernels());
             UNetSession a = refModel.newSession(); UNetSession b = sdModel.newSession();
             Tensor x = random(3, 4, 13, 11); Tensor e = random(3, 5, 48)) {
            UNetInputs in = UNetInputs.builder(x, Timestep.float32(999f, 500.5f, 1f)).encoderHiddenStates(e).build();
            a.capture("up_blocks.0", "up_blocks.1");
            try (Tensor ya = a.forward(in); Tensor yb = b.forward(in)) {
                assertArrayEquals(new long[]{3, 4, 13, 11}, ya.shape());
                Fixture.assertClose("13x11 batch 3, reference vs oneDNN", ya, yb);
                assertArrayEquals(new long[]{3, 64, 7, 6}, a.captured("up_blocks.0").shape(), "upsampled to the skip size 7x6");
                assertArrayEquals(new long[]{3, 64, 13, 11}, a.captured("up_blocks.1").shape());
            }
        }
    }

    static Tensor random(long... shape) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(java.util.Arrays.hashCode(shape));
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 4 - 2);
        return Tensor.of(v, shape);
    }
}
