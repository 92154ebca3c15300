package dev.unet4j.unet;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Interceptor chaining on a stand-in node: order of the links, and which replaced tensors the chain closes. */
class InterceptorsTest {
    private final List<String> events = new ArrayList<>();
    private final List<Tensor> made = new ArrayList<>();
    private final Tensor input = tensor(1);
    private final Tensor nodeOutput = tensor(2);

    @AfterEach
    void free() {
        for (Tensor t : made) t.close();
    }

    private Tensor tensor(float v) {
        Tensor t = Tensor.of(new float[] {v, v}, 1, 2);
        made.add(t);
        return t;
    }

    /** The graph's side of one node visit: proceed() runs the node once. */
    private final NodeCall node = new NodeCall() {
        @Override
        public String path() {
            return "mid_block";
        }

        @Override
        public NodeLevel level() {
            return NodeLevel.BLOCK;
        }

        @Override
        public NodeKind kind() {
            return null;
        }

        @Override
        public int callIndex() {
            return 7;
        }

        @Override
        public Tensor input() {
            return input;
        }

        @Override
        public Tensor temb() {
            return null;
        }

        @Override
        public Tensor encoderHiddenStates() {
            return null;
        }

        @Override
        public Tensor proceed() {
            events.add("node");
            return nodeOutput;
        }

        @Override
        public Tensor passThrough() {
            return input;
        }

        @Override
        public boolean exclusive(Tensor t) {
            return false;
        }

        @Override
        public Workspace workspace() {
            return null;
        }

        @Override
        public Kernels kernels() {
            return null;
        }
    };

    /** Logs its visit, proceeds, and returns {@code replacement} (or what proceeding gave when null). */
    private NodeInterceptor link(String name, Tensor replacement) {
        return new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                events.add(name + " " + call.callIndex());
                Tensor inner = call.proceed();
                events.add(name + " saw " + inner.toFloatArray()[0]);
                return replacement != null ? replacement : inner;
            }

            @Override
            public boolean serves(String path) {
                return path.equals(name);
            }

            @Override
            public Tensor onSkipPush(SkipEvent e) {
                events.add(name + " push");
                return replacement != null ? replacement : e.tensor();
            }
        };
    }

    @Test
    void theFirstLinkIsOutermostAndSeesWhatTheInnerOneMadeOfTheNode() {
        Tensor inner = tensor(3);
        NodeInterceptor chain = Interceptors.chain(link("a", null), null, link("b", inner));
        assertSame(inner, chain.intercept(node));
        assertEquals(List.of("a 7", "b 7", "node", "b saw 2.0", "a saw 3.0"), events);
        assertFalse(inner.isClosed(), "returned into the graph");
        assertFalse(nodeOutput.isClosed(), "the graph closes the node's own output");
    }

    @Test
    void aReplacedInnerReplacementIsClosedButNeverTheNodesOutputOrInput() {
        Tensor inner = tensor(3);
        Tensor outer = tensor(4);
        assertSame(outer, Interceptors.chain(link("a", outer), link("b", inner)).intercept(node));
        assertTrue(inner.isClosed(), "b's replacement, replaced by a, belongs to no one else");
        assertFalse(outer.isClosed());
        assertFalse(nodeOutput.isClosed());

        Tensor again = tensor(5);
        assertSame(again, Interceptors.chain(link("a", again), link("b", input)).intercept(node));
        assertFalse(input.isClosed(), "b passed the input through; a's replacement must not close it");
    }

    @Test
    void skipEventsGoThroughTheInnerLinkFirstAndAReplacedReplacementIsClosed() {
        Tensor pushed = tensor(1);
        Tensor byB = tensor(3);
        Tensor byA = tensor(4);
        NodeInterceptor chain = Interceptors.chain(link("a", byA), link("b", byB));
        assertSame(byA, chain.onSkipPush(new SkipEvent(0, 7, "down_blocks.0", pushed)));
        assertEquals(List.of("b push", "a push"), events);
        assertTrue(byB.isClosed());
        assertFalse(pushed.isClosed(), "the graph's own skip tensor");
    }

    @Test
    void aNodeIsServedWhenAnyLinkServesIt() {
        NodeInterceptor chain = Interceptors.chain(link("a", null), link("b", null));
        assertTrue(chain.serves("a"));
        assertTrue(chain.serves("b"));
        assertFalse(chain.serves("mid_block"));
    }

    @Test
    void proceedingTwiceIsRefused() {
        NodeInterceptor twice = new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                call.proceed();
                return call.proceed();
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Interceptors.chain(twice, link("b", null)).intercept(node));
        assertTrue(e.getMessage().contains("proceed() called twice at mid_block"), e.getMessage());
    }

    @Test
    void noLinksRunTheNodeUnchanged() {
        assertSame(nodeOutput, Interceptors.chain().intercept(node));
        assertSame(nodeOutput, Interceptors.chain((NodeInterceptor) null).intercept(node));
    }
}
