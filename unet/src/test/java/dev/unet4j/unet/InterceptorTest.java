package dev.unet4j.unet;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The open graph: interceptors observe, replace and skip nodes and skip tensors; the trace counts the work. */
class InterceptorTest {
    static Fixture sd;
    static DnnlKernels dnnl;
    static UNetModel model;
    static float[] plain;

    @BeforeAll
    static void load() throws Exception {
        sd = new Fixture(Fixture.SD);
        dnnl = new DnnlKernels();
        model = sd.load(dnnl);
        try (UNetSession s = model.newSession(); Tensor y = s.forward(sd.inputs())) {
            plain = y.toFloatArray();
        }
    }

    @AfterAll
    static void close() {
        model.close();
        dnnl.close();
        sd.close();
    }

    /**
     * The token seam: running every attn1/attn2/ff through {@code proceedWith} on a copy of its own input (and
     * returning a copy of the result, as token merging returns its unmerged tokens) is the plain call bit for bit,
     * counts those nodes as computed and keeps the plain call's MACs as both done and full; the residual is the
     * block's hidden state; other nodes refuse it.
     */
    @Test
    void proceedWithOnTheSameTokensIsThePlainCall() {
        long plainMacs;
        try (UNetSession s = model.newSession()) {
            s.forward(sd.inputs()).close();
            plainMacs = s.lastTrace().macsDone();
        }
        int[] seam = new int[1];
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    NodeKind k = call.kind();
                    if (k == NodeKind.ATTN1 || k == NodeKind.ATTN2 || k == NodeKind.FEED_FORWARD) {
                        assertArrayEquals(call.input().shape(), call.residual().shape(), call.path());
                        seam[0]++;
                        try (Tensor in = call.copyOf(call.input())) {
                            return call.copyOf(call.proceedWith(in));
                        }
                    }
                    if (k == NodeKind.RESNET) {
                        assertEquals(null, call.residual());
                        try (Tensor in = call.copyOf(call.input())) {
                            assertThrows(UnsupportedOperationException.class, () -> call.proceedWith(in));
                        }
                    }
                    return call.proceed();
                }
            });
            try (Tensor y = s.forward(sd.inputs())) {
                assertArrayEquals(plain, y.toFloatArray());
            }
            CallTrace tr = s.lastTrace();
            assertTrue(seam[0] > 0);
            assertEquals(plainMacs, tr.macsDone());
            assertEquals(plainMacs, tr.fullMacs(), "full cost known although the token nodes ran through the seam");
            assertTrue(tr.nodes().stream().filter(r -> r.kind() == NodeKind.ATTN1).allMatch(r -> r.outcome() == CallTrace.Outcome.COMPUTED));
        }
    }

    @Test
    void replacingEveryNodeWithItsOwnOutputIsBitIdentical() {
        Map<String, NodeLevel> seen = new HashMap<>();
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    seen.put(call.path(), call.level());
                    Tensor own = call.proceed();
                    return call.copyOf(own);                          // a different tensor, same values and layout
                }
            });
            try (Tensor y = s.forward(sd.inputs())) {
                assertArrayEquals(plain, y.toFloatArray());
            }
            CallTrace tr = s.lastTrace();
            assertTrue(tr.nodes().stream().allMatch(r -> r.outcome() == CallTrace.Outcome.REPLACED));
        }
        assertEquals(NodeLevel.BLOCK, seen.get("down_blocks.1"));
        assertEquals(NodeLevel.BLOCK, seen.get("mid_block"));
        assertEquals(NodeLevel.LAYER, seen.get("up_blocks.2.resnets.1"));
        assertEquals(NodeLevel.LAYER, seen.get("down_blocks.0.attentions.1"));
        assertEquals(NodeLevel.LAYER, seen.get("up_blocks.0.upsamplers.0"));
        assertEquals(NodeLevel.LAYER, seen.get("down_blocks.1.downsamplers.0"));
        assertEquals(NodeLevel.UNIT, seen.get("down_blocks.1.attentions.0.transformer_blocks.0.attn2"));
        assertEquals(NodeLevel.UNIT, seen.get("mid_block.attentions.0.transformer_blocks.0.ff"));
        for (String stem : List.of("time_proj", "time_embedding", "conv_in", "conv_norm_out", "conv_out")) {
            assertEquals(NodeLevel.STEM, seen.get(stem), stem);
        }
        assertEquals(model.nodePaths().size(), seen.size(), "every node is intercepted");
    }

    @Test
    void skippingANodeChangesTheOutputAndItsWork() {
        String node = "down_blocks.1.attentions.0";
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    return call.path().equals(node) ? call.input() : call.proceed();
                }
            });
            try (Tensor y = s.forward(sd.inputs()); Tensor ref = Tensor.of(plain, y.shape())) {
                assertTrue(Closeness.maxAbsDiff(ref, y) > 1e-2, "skipping " + node + " must change the output");
            }
            CallTrace tr = s.lastTrace();
            assertEquals(CallTrace.Outcome.REPLACED, tr.node(node).outcome());
            assertEquals(0, tr.node(node).macs());
            assertEquals(-1, tr.fullMacs(), "a fresh session never saw down_blocks.1 run in full");
            s.setInterceptor(null);
            s.forward(sd.inputs()).close();
            long full = s.lastTrace().macsDone();
            assertEquals(full, s.lastTrace().fullMacs());
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    return call.path().equals(node) ? call.passThrough() : call.proceed();
                }
            });
            s.forward(sd.inputs()).close();
            CallTrace skipped = s.lastTrace();
            assertEquals(full, skipped.fullMacs());
            // the skipped transformer: norm-free MACs = proj_in + proj_out (2 * 64*64 per token) + attn1 + attn2 + ff + attention
            long tokens = 2L * 8 * 8, c = 64, ctx = 2L * 7;          // down_blocks.1 runs at 8x8
            long expected = tokens * c * c * 2                      // proj_in, proj_out (1x1 convs)
                    + tokens * c * c * 4                            // attn1 q,k,v,out
                    + tokens * c * c * 2 + ctx * 48 * c * 2         // attn2 q,out + k,v from the 48-wide context
                    + tokens * c * (8 * c) + tokens * (4 * c) * c  // ff: proj to 2*4c, out from 4c
                    + 2 * (2L * 64 * 64 * c)                         // attn1 scores + weighted sum: B*Tq*Tk*C
                    + 2 * (2L * 64 * 7 * c);                         // attn2
            assertEquals(expected, full - skipped.macsDone(), "MACs of " + node);
        }
    }

    @Test
    void passingThroughABlockTakesAHolderNotACopyAndLeaksNothing() {
        float[] copied;
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    return call.path().equals("mid_block") ? call.copyOf(call.input()) : call.proceed();
                }
            });
            try (Tensor y = s.forward(sd.inputs())) {
                copied = y.toFloatArray();
            }
        }
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    return call.path().equals("mid_block") ? call.passThrough() : call.proceed();
                }
            });
            long allocations = 0, outstanding = 0;
            for (int i = 0; i < 3; i++) {
                try (Tensor y = s.forward(sd.inputs())) {
                    assertArrayEquals(copied, y.toFloatArray(), "mid_block passed through = its input copied");
                }
                if (i == 1) {
                    allocations = s.allocator().allocations();
                    outstanding = s.allocator().outstandingBytes();
                }
            }
            assertEquals(CallTrace.Outcome.REPLACED, s.lastTrace().node("mid_block").outcome());
            assertEquals(allocations, s.allocator().allocations(), "a warm call allocates nothing new");
            assertEquals(outstanding, s.allocator().outstandingBytes(), "every holder released: nothing outstanding grows");
        }
    }

    @Test
    void plainTraceCountsConvInExactly() {
        try (UNetSession s = model.newSession()) {
            s.forward(sd.inputs()).close();
            CallTrace tr = s.lastTrace();
            assertEquals(2L * 32 * 16 * 16 * 4 * 9, tr.node("conv_in").macs());
            assertEquals(1.0, tr.computedFraction(), 0.0);
            assertEquals(CallTrace.Outcome.COMPUTED, tr.node("mid_block").outcome());
        }
    }

    @Test
    void captureWithAnInterceptorEqualsTheFixture() {
        try (UNetSession s = model.newSession()) {
            s.capture("up_blocks.1.attentions.1", "mid_block.attentions.0", "time_embedding");
            s.setInterceptor(new NodeInterceptor() {
            });
            s.forward(sd.inputs()).close();
            for (String n : List.of("up_blocks.1.attentions.1", "mid_block.attentions.0", "time_embedding")) {
                Fixture.assertClose(n, sd.outputs.get(n), s.captured(n));
            }
        }
    }

    @Test
    void skipHooksSeeEveryPushAndPopInOrderAndCanReplace() {
        List<Integer> pushes = new ArrayList<>(), pops = new ArrayList<>();
        List<String> pushers = new ArrayList<>();
        try (UNetSession s = model.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor onSkipPush(SkipEvent e) {
                    pushes.add(e.index());
                    pushers.add(e.node());
                    return e.tensor();
                }

                @Override
                public Tensor onSkipPop(SkipEvent e) {
                    pops.add(e.index());
                    if (e.index() != 0) return e.tensor();
                    Tensor z = Tensor.allocate(s.allocator(), e.tensor().shape());
                    z.fill(0f);
                    return z;                                   // drop conv_in's skip
                }
            });
            try (Tensor y = s.forward(sd.inputs()); Tensor ref = Tensor.of(plain, y.shape())) {
                assertTrue(Closeness.maxAbsDiff(ref, y) > 1e-2);
            }
        }
        int n = model.skipCount();
        assertEquals(9, n);
        for (int i = 0; i < n; i++) {
            assertEquals(i, pushes.get(i));
            assertEquals(n - 1 - i, pops.get(i));
        }
        assertEquals(List.of("conv_in", "down_blocks.0.attentions.0", "down_blocks.0.attentions.1", "down_blocks.0.downsamplers.0",
                "down_blocks.1.attentions.0", "down_blocks.1.attentions.1", "down_blocks.1.downsamplers.0",
                "down_blocks.2.resnets.0", "down_blocks.2.resnets.1"), pushers);
    }

    @Test
    void scalingANodeOutputScalesTheCapture() {
        try (UNetSession s = model.newSession()) {
            s.capture("up_blocks.0.resnets.0");
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    Tensor out = call.proceed();
                    return call.path().equals("up_blocks.0.resnets.0") ? call.kernels().scale(call.workspace(), out, 0.5f) : out;
                }
            });
            s.forward(sd.inputs()).close();
            float[] got = s.captured("up_blocks.0.resnets.0").toFloatArray();
            float[] want = sd.outputs.get("up_blocks.0.resnets.0").toFloatArray();
            for (int i = 0; i < got.length; i++) assertEquals(0.5f * want[i], got[i], 1e-4f * (1 + Math.abs(want[i])));
        }
    }

    /** A UNet2DModel attention block is both a LAYER and a UNIT (same path), and skipping the unit skips it. */
    @Test
    void unet2dAttentionIsVisitedAsLayerAndUnit() throws Exception {
        try (Fixture f = new Fixture(Fixture.DDPM); UNetModel m = f.load(dnnl); UNetSession s = m.newSession()) {
            List<String> visits = new ArrayList<>();
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    if (call.path().equals("mid_block.attentions.0")) visits.add(call.level() + ":" + call.kind());
                    return call.level() == NodeLevel.UNIT && call.kind() == NodeKind.SPATIAL_ATTENTION ? call.passThrough() : call.proceed();
                }
            });
            s.capture("mid_block.attentions.0", "mid_block.resnets.0");
            s.forward(f.inputs()).close();
            assertEquals(List.of("LAYER:SPATIAL_ATTENTION", "UNIT:SPATIAL_ATTENTION"), visits);
            // with every attention unit skipped, the mid attention's output is its input
            assertArrayEquals(s.captured("mid_block.resnets.0").toFloatArray(), s.captured("mid_block.attentions.0").toFloatArray());
            s.setInterceptor(null);
            s.forward(f.inputs()).close();
            Fixture.assertClose("mid attention", f.outputs.get("mid_block.attentions.0"), s.captured("mid_block.attentions.0"));
        }
    }
}
