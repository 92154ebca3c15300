package dev.unet4j.caching;

import dev.unet4j.caching.policy.DeepCache;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DeepCache on the fixture models: which layers run on each call (spelled out by hand from DeepCacheSDHelper's
 * rules), and cheap-call outputs equal to a hand re-statement that runs the graph with every deep layer's output
 * taken from call 0's captures (so every push and pop happens naturally, unlike the cache's whole-block reuse).
 */
class DeepCacheTest {
    static TestModels sd, ddpm;

    @BeforeAll
    static void load() {
        sd = new TestModels(TestModels.SD);
        ddpm = new TestModels(TestModels.DDPM);
    }

    @AfterAll
    static void close() {
        sd.close();
        ddpm.close();
    }

    /**
     * Hand re-statement of a cheap call: call 0 in full capturing every LAYER-level node, then call {@code k} with an
     * interceptor returning the capture for each LAYER-level node {@code deep} selects.
     */
    static float[] handCheapCall(TestModels m, int k, Predicate<String> deep) {
        List<String> layers = new ArrayList<>();
        for (String p : m.model.nodePaths()) if (m.model.nodeLevel(p) == NodeLevel.LAYER && deep.test(p)) layers.add(p);
        return m.withCall0Outputs(layers, k);
    }

    @Test
    void branch0OnStableDiffusionLayoutRunsOnlyTheShallowBranch() {
        try (UNetSession s = sd.model.newSession();
             CacheSession cache = CacheSession.open(s, CachePolicies.parse("deepcache:interval=3,branch=0"), sd.info(5))) {
            List<float[]> outs = sd.run(cache, 5);
            GenerationReport r = cache.report();
            Set<String> everyLayer = new LinkedHashSet<>();
            for (String p : sd.model.nodePaths()) {
                NodeLevel l = sd.model.nodeLevel(p);
                if (l == NodeLevel.STEM || l == NodeLevel.LAYER) everyLayer.add(p);
            }
            Set<String> shallow = Set.of("time_proj", "time_embedding", "conv_in", "up_blocks.2.resnets.2",
                    "up_blocks.2.attentions.2", "conv_norm_out", "conv_out");
            for (int k = 0; k < 5; k++) {
                CallReport c = r.calls().get(k);
                Set<String> ran = sd.computedLayers(c.computed());
                if (k % 3 == 0) {
                    assertEquals(everyLayer, ran, "call " + k + " is full");
                    assertEquals(c.fullMacs(), c.macsDone(), "call " + k + " MACs");
                } else {
                    assertEquals(shallow, ran, "call " + k + " runs the shallow branch only");
                    assertTrue(c.macsDone() < c.fullMacs() / 3, "call " + k + " MACs " + c.macsDone() + " of " + c.fullMacs());
                    assertEquals("reuse b=0", c.mode());
                }
            }
            assertTrue(r.peakBytes() > 0 && cache.bytesHeld() > 0);
            Predicate<String> deep = p -> p.startsWith("down_blocks.") || p.startsWith("mid_block.")
                    || p.startsWith("up_blocks.0.") || p.startsWith("up_blocks.1.")
                    || p.matches("up_blocks\\.2\\.(resnets|attentions)\\.[01]");
            TestModels.assertClose("call 1 vs hand re-statement", handCheapCall(sd, 1, deep), outs.get(1), 0);
            org.junit.jupiter.api.Assertions.assertArrayEquals(handCheapCall(sd, 2, deep), outs.get(2), "call 2 bit for bit");
        }
    }

    @Test
    void deeperBranchOnUNet2DModel() {
        // DDPM tiny: down (DownBlock2D, AttnDownBlock2D, DownBlock2D) x 2 layers, up blocks of 3 layers.
        // branch 4 = block 1, layer 1: down_blocks.1 layer 0 runs; its layer 1 and downsampler, down_blocks.2, mid,
        // up_blocks.0 and up_blocks.1's layer 0 (reversed index 2 > 1) come from the cache.
        try (UNetSession s = ddpm.model.newSession();
             CacheSession cache = CacheSession.open(s, DeepCache.uniform(2, 4), ddpm.info(2))) {
            List<float[]> outs = ddpm.run(cache, 2);
            Set<String> ran = ddpm.computedLayers(cache.report().calls().get(1).computed());
            Set<String> expected = new LinkedHashSet<>(List.of("time_proj", "time_embedding", "conv_in",
                    "down_blocks.0.resnets.0", "down_blocks.0.resnets.1", "down_blocks.0.downsamplers.0",
                    "down_blocks.1.resnets.0", "down_blocks.1.attentions.0",
                    "up_blocks.1.resnets.1", "up_blocks.1.attentions.1", "up_blocks.1.resnets.2", "up_blocks.1.attentions.2",
                    "up_blocks.1.upsamplers.0",
                    "up_blocks.2.resnets.0", "up_blocks.2.resnets.1", "up_blocks.2.resnets.2", "conv_norm_out", "conv_out"));
            assertEquals(expected, ran);
            Predicate<String> deep = p -> p.matches("down_blocks\\.1\\.(resnets|attentions)\\.1|down_blocks\\.1\\.downsamplers\\.0")
                    || p.startsWith("down_blocks.2.") || p.startsWith("mid_block.") || p.startsWith("up_blocks.0.")
                    || p.matches("up_blocks\\.1\\.(resnets|attentions)\\.0");
            TestModels.assertClose("call 1 vs hand re-statement", handCheapCall(ddpm, 1, deep), outs.get(1), 0);
        }
    }

    @Test
    void intervalOneIsFullComputeBitForBit() {
        sd.assertFullCompute(DeepCache.uniform(1, 0), 3);
    }

    @Test
    void quadScheduleChoosesFullCallsLikeSampleFromQuadCenter() {
        // reference values from numpy (DeepCache's sample_from_quad_center, pow 1.4, center 15)
        boolean[] full = new DeepCache(3, 0, DeepCache.Schedule.QUAD, 1.4, 15).fullCalls(50);
        int[] expected = {0, 3, 6, 8, 11, 13, 15, 17, 20, 22, 25, 28, 32, 35, 38, 42, 46};
        List<Integer> got = new ArrayList<>();
        for (int k = 0; k < full.length; k++) if (full[k]) got.add(k);
        assertEquals(java.util.Arrays.stream(expected).boxed().toList(), got);
    }
}
