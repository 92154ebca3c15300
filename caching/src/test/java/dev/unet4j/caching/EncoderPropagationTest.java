package dev.unet4j.caching;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.EncoderState;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Faster-Diffusion encoder propagation against encode/decode by hand, all-keys identity, parallel batching. */
class EncoderPropagationTest extends SdFixtureTest {
    /** By hand: key calls 0 and 3 encode; calls 1, 2, 4 decode from the last key's state with their own inputs. */
    static float[][] byHand(int calls, Set<Integer> keys) {
        float[][] out = new float[calls][];
        try (UNetSession s = sd.model.newSession()) {
            EncoderState state = null;
            for (int k = 0; k < calls; k++) {
                if (keys.contains(k)) {
                    if (state != null) state.close();
                    state = s.encode(sd.call(k));
                }
                try (Tensor t = s.decode(state, sd.call(k))) {
                    out[k] = t.toFloatArray();
                }
            }
            state.close();
        }
        return out;
    }

    @Test
    void nonKeyCallsDecodeFromTheLastKeyState() {
        float[][] hand = byHand(5, Set.of(0, 3));
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("faster:keys=0,3"), sd.info(5))) {
            List<float[]> outs = sd.run(cache, 5);
            for (int k = 0; k < 5; k++) assertArrayEquals(hand[k], outs.get(k), "call " + k);
            GenerationReport r = cache.report();
            assertEquals(List.of("key", "decode", "decode", "key", "decode"), r.calls().stream().map(CallReport::mode).toList());
            CallReport decode = r.calls().get(1);
            assertTrue(decode.computed().stream().noneMatch(p -> p.startsWith("down_blocks") || p.equals("conv_in") || p.equals("mid_block")),
                    "a decode call runs no encoder node: " + decode.computed());
            assertTrue(decode.ran("up_blocks.0") && decode.ran("conv_out"));
            assertTrue(decode.macsDone() < decode.fullMacs() && decode.macsDone() > 0);
            assertTrue(r.calls().get(0).bytesHeld() > 0, "the key state is held");
        }
    }

    @Test
    void allKeysIsFullComputeBitForBit() {
        sd.assertFullCompute(CachePolicies.parse("faster:every=1"), 3);
    }

    @Test
    void parallelModeBatchesTheDecodersOfARunOfNonKeyCalls() {
        float[][] hand = byHand(5, Set.of(0, 4));
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("faster:keys=0,4;parallel"), sd.info(5))) {
            List<float[]> outs = sd.run(cache, 5);
            // batched convolutions may round differently from batch-2 ones
            for (int k = 0; k < 5; k++) TestModels.assertClose("call " + k, hand[k], outs.get(k), 1e-5);
            GenerationReport r = cache.report();
            assertEquals(List.of("key", "decode x3", "batched@1/3", "batched@1/3", "key"),
                    r.calls().stream().map(CallReport::mode).toList());
            assertEquals(0, r.calls().get(2).macsDone(), "served from the batch");
            assertTrue(r.calls().get(1).macsDone() > 2 * r.calls().get(1).fullMacs() / 3, "one batched decode of three calls");
        }
    }
}
