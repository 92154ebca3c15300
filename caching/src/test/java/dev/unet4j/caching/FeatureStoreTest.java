package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FeatureStore#keep} inside a real call: a node output the call holds alone is kept without a copy; a block's
 * output (also on the skip stack) and a node's input handed back are copied; a refused one is left to the graph.
 */
class FeatureStoreTest extends SdFixtureTest {
    /** Keeps each of {@code nodes} on one call; records the result's address and whether the graph got it back as is. */
    private static final class Keeping implements NodeInterceptor {
        final FeatureStore store;
        final List<String> nodes;
        final Map<String, long[]> addresses = new HashMap<>(); // path -> {result address, returned address}
        final Map<String, Boolean> sameObject = new HashMap<>();

        Keeping(FeatureStore store, List<String> nodes) {
            this.store = store;
            this.nodes = nodes;
        }

        @Override
        public Tensor intercept(NodeCall call) {
            if (!nodes.contains(call.path())) return call.proceed();
            Tensor out = call.proceed();
            long address = out.address();
            Tensor given = store.keep(call.path(), call, out);
            addresses.put(call.path(), new long[]{address, given.address()});
            sameObject.put(call.path(), given == out);
            return given;
        }
    }

    @Test
    void keepMovesWhatTheCallHoldsAloneAndCopiesWhatOthersHold() {
        float[] plain = sd.plain(1).get(0);
        List<String> nodes = List.of("down_blocks.0.resnets.0", "mid_block", "down_blocks.0");
        try (UNetSession s = sd.model.newSession(); FeatureStore store = new FeatureStore(new CacheBudget(CacheOptions.unbounded()))) {
            Keeping k = new Keeping(store, nodes);
            s.setInterceptor(k);
            try (Tensor y = s.forward(sd.call(0))) {
                assertArrayEquals(plain, y.toFloatArray(), "keeping changes no value");
            }
            // a layer's output and the mid block's: moved, the graph goes on with a view of the same memory
            for (String p : List.of("down_blocks.0.resnets.0", "mid_block")) {
                assertEquals(k.addresses.get(p)[0], k.addresses.get(p)[1], p + ": no copy");
                assertFalse(k.sameObject.get(p), p + ": a view of the moved buffer");
                assertEquals(CallTrace.Outcome.COMPUTED, s.lastTrace().node(p).outcome(), p + " still counts as computed");
            }
            // a down block's output is also on the skip stack: copied, and the stack's entry stays usable
            assertTrue(k.sameObject.get("down_blocks.0"), "down_blocks.0: returned as it is");
            try (Tensor kept = store.take("down_blocks.0")) {
                assertNotEquals(k.addresses.get("down_blocks.0")[0], kept.address(), "down_blocks.0: copied");
            }
            try (Tensor served = store.take("mid_block")) {
                assertEquals(k.addresses.get("mid_block")[0], served.address(), "the store serves the moved buffer");
            }
            store.clear();
            assertEquals(0, store.bytes());
        }
    }

    @Test
    void inputHandedBackIsCopiedAndARefusedOutputIsLeftToTheGraph() {
        float[] plain = sd.plain(1).get(0);
        try (UNetSession s = sd.model.newSession();
             FeatureStore store = new FeatureStore(new CacheBudget(CacheOptions.bounded(1, CacheOptions.Overflow.RUN_FULL)));
             FeatureStore big = new FeatureStore(new CacheBudget(CacheOptions.unbounded()))) {
            boolean[] exclusiveInput = {true};
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    if (call.path().equals("conv_in")) {
                        Tensor out = call.proceed();
                        Tensor given = store.keep("conv_in", call, out);   // 1-byte bound: refused
                        assertSame(out, given);
                        assertTrue(out.isOwner() && !out.isClosed(), "refused: still the graph's");
                        return given;
                    }
                    if (call.path().equals("mid_block")) {
                        exclusiveInput[0] = call.exclusive(call.input());
                        big.keep("mid_block input", call, call.input());  // as if an inner policy passed the node through
                        return call.proceed();
                    }
                    return call.proceed();
                }
            });
            try (Tensor y = s.forward(sd.call(0))) {
                assertArrayEquals(plain, y.toFloatArray());
            }
            assertTrue(store.refusedSome());
            assertFalse(store.contains("conv_in"));
            assertFalse(exclusiveInput[0], "a node's input is never the call's alone");
            assertTrue(big.contains("mid_block input"), "kept as a copy");
        }
    }
}
