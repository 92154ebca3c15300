package dev.unet4j.zoo;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The session's NodeInterceptor reaches every named node of the zoo models, observes their inputs and can replace outputs. */
class ZooInterceptorTest extends ZooFixtureTest {
    @Test
    void everyMkUNetNodeIsVisitedAndTheGatesSeeTheirGatingSignal() throws Exception {
        try (ZooFixture fx = new ZooFixture(ZooFixture.MKUNET); ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession()) {
            List<String> visited = new ArrayList<>();
            List<long[]> gateSignals = new ArrayList<>();
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    visited.add(call.path());
                    if (call.path().startsWith("AG")) {
                        assertNotNull(call.encoderHiddenStates(), call.path() + " sees g");
                        gateSignals.add(call.encoderHiddenStates().shape());
                    } else {
                        assertNull(call.encoderHiddenStates(), call.path());
                    }
                    return call.proceed();
                }
            });
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                ZooFixture.assertClose("output with an observing interceptor", fx.outputs.get("output"), out.get("output"));
            } finally {
                out.values().forEach(Tensor::close);
            }
            assertEquals(Set.copyOf(m.nodePaths()), new HashSet<>(visited));
            assertEquals(5, visited.stream().filter("SA"::equals).count(), "the shared spatial attention is one node called 5 times");
            assertArrayEquals(new long[]{2, 24, 4, 6}, gateSignals.get(0), "AG1's g is the decoder state at the t4 skip's size");
        }
    }

    @Test
    void replacingANodeOutputChangesExactlyWhatDependsOnIt() throws Exception {
        try (ZooFixture fx = new ZooFixture(ZooFixture.UNETPP); ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    Tensor y = call.proceed();
                    if (!call.path().equals("seg_outputs.0")) return y;
                    Tensor z = call.kernels().scale(call.workspace(), y, 0f);
                    y.close();
                    return z;
                }
            });
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                for (float v : out.get("output.0").toFloatArray()) assertEquals(0f, v);
                ZooFixture.assertClose("output.1 (its own head)", fx.outputs.get("output.1"), out.get("output.1"));
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
        try (ZooFixture fx = new ZooFixture(ZooFixture.DDOS); ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession()) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    Tensor y = call.proceed();
                    if (!call.path().equals("up_path.1.up")) return y;
                    Tensor z = call.kernels().scale(call.workspace(), y, 0f); // drop the up-sampled path: only the skip remains
                    y.close();
                    return z;
                }
            });
            s.capture("up_path.1.up");
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                for (float v : s.captured("up_path.1.up").toFloatArray()) assertEquals(0f, v, "the capture shows the replaced output");
                double rel = ZooFixture.relativeError(fx.outputs.get("output"), out.get("output"));
                assertEquals(true, rel > 0.01, "the output depends on the replaced node: " + rel);
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
    }
}
