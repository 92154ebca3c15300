package dev.unet4j.caching;

import dev.unet4j.caching.policy.BalancedSkipping;
import dev.unet4j.caching.policy.DeepCache;
import dev.unet4j.caching.policy.EncoderPropagation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text forms, parse errors, and the pure planning functions against hand-worked tables. */
class PolicyTextTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "deepcache:interval=3,branch=0",
            "deepcache:interval=3,branch=2,schedule=quad,pow=1.4,center=15",
            "faster:keys=0,1,2,3,5,10,15,25,35",
            "faster:every=5;parallel",
            "inherit:nodes=up_blocks.*.attentions.*.transformer_blocks.*.attn2,every=2",
            "inherit:nodes=mid_block|up_blocks.0,calls=3,5,7",
            "skiptune:top=1.0,bottom=0.8",
            "scalelong:kappa=0.7",
            "scalelong:mode=sqrt2",
            "freeu:b1=1.5,b2=1.6,s1=0.9,s2=0.2",
            "balanced:speedup=2.0",
            "adaptive:threshold=0.1,warmup=2,cooldown=1,max-run=3",
            "freeu:b1=1.1,b2=1.2,s1=0.9,s2=0.2+deepcache:interval=2,branch=0",
            "none"})
    void specRoundTrips(String text) {
        CachePolicy p = CachePolicies.parse(text);
        assertEquals(text, p.spec());
        assertEquals(text, CachePolicies.parse(p.spec()).spec());
    }

    @Test
    void presetIsThePapersKeySet() {
        EncoderPropagation p = (EncoderPropagation) CachePolicies.parse("faster:preset=50");
        assertEquals("faster:keys=0,1,2,3,5,10,15,25,35", p.spec());
        assertTrue(p.isKey(25) && !p.isKey(24) && p.isKey(0));
    }

    @Test
    void errorsNameTheBadTokenAndTheValidChoices() {
        String m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("deepcache:intervl=3")).getMessage();
        assertTrue(m.contains("'intervl'") && m.contains("valid keys: interval, branch, schedule, pow, center"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("deepcash:interval=3")).getMessage();
        assertTrue(m.contains("'deepcash'") && m.contains("deepcache") && m.contains("faster"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("deepcache:interval=x")).getMessage();
        assertTrue(m.contains("interval=x is not an integer"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:keys=0,2;paralel")).getMessage();
        assertTrue(m.contains("'paralel'") && m.contains("flags: parallel"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("faster:every=2+faster:every=3")).getMessage();
        assertTrue(m.contains("at most one call-level policy"), m);
        m = assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("deepcache:interval=2+")).getMessage();
        assertTrue(m.contains("empty part"), m);
    }

    @Test
    void uniformDeepCacheFullCalls() {
        boolean[] f = DeepCache.uniform(3, 0).fullCalls(8);
        assertArrayEquals(new boolean[] {true, false, false, true, false, false, true, false}, f);
    }

    @Test
    void quadScheduleOtherShapes() {
        // numpy reference values of sample_from_quad_center(total, n, center, pow)
        assertArrayEquals(new int[] {0, 5, 9, 13, 17, 21, 26, 31, 37, 43},
                dev.unet4j.caching.policy.QuadSchedule.sample(50, 10, 15, 1.4).indices());
        assertArrayEquals(new int[] {0, 3, 5, 8, 9, 12, 15, 18, 21},
                dev.unet4j.caching.policy.QuadSchedule.sample(25, 9, 8, 1.4).indices());
        dev.unet4j.caching.policy.QuadSchedule.Result r = dev.unet4j.caching.policy.QuadSchedule.sample(25, 13, 10, 1.2);
        assertArrayEquals(new int[] {0, 3, 4, 6, 8, 10, 11, 12, 14, 16, 18, 20, 22}, r.indices());
        assertEquals(1.18, r.pow(), 1e-9);
    }

    @Test
    void balancedPlanMeetsTheTarget() {
        // 10 calls, branch costs 0.2 / 0.5 of a full call, target 2x: budget 5 full-call units.
        // cheapest branch 0: F = floor((5 - 10*0.2) / 0.8) = 3 full calls at 0, 3, 6 (floor(i*10/3));
        // used 3 + 7*0.2 = 4.4, slack 0.6 -> two upgrades to branch 1 (+0.3 each), at cheap calls #0 and #3 of 7 (1 and 5).
        BalancedSkipping.Plan p = BalancedSkipping.plan(10, new double[] {0.2, 0.5}, 2.0);
        assertArrayEquals(new int[] {-1, 1, 0, -1, 0, 1, -1, 0, 0, 0}, p.branchPerCall());
        assertEquals(2.0, p.predictedSpeedup(), 1e-9);
    }

    @Test
    void structureOfTheSdFixtureLayout() {
        List<String> paths = new java.util.ArrayList<>();
        paths.addAll(List.of("conv_in"));
        for (int d = 0; d < 3; d++) {
            paths.add("down_blocks." + d);
            for (int j = 0; j < 2; j++) paths.add("down_blocks." + d + ".resnets." + j);
            if (d < 2) paths.add("down_blocks." + d + ".downsamplers.0");
        }
        paths.add("mid_block");
        for (int u = 0; u < 3; u++) {
            paths.add("up_blocks." + u);
            for (int j = 0; j < 3; j++) paths.add("up_blocks." + u + ".resnets." + j);
            if (u < 2) paths.add("up_blocks." + u + ".upsamplers.0");
        }
        UNetStructure s = new UNetStructure(paths, 9);
        assertEquals(8, s.poppedSkip(0, 0));
        assertEquals(6, s.poppedSkip(0, 2));
        assertEquals(0, s.poppedSkip(2, 2));
        assertEquals(List.of(0, 0, 0, 1, 1, 1, 2, 2, 2), java.util.stream.IntStream.range(0, 9).map(s::skipLevel).boxed().toList());
        assertEquals("mid_block", s.upLayerPredecessor(0, 0));
        assertEquals("up_blocks.1.resnets.0", s.upLayerPredecessor(1, 1));
        // DeepCache b=0: the deep half by layers, the mid block whole
        assertTrue(DeepCache.reusedNodes(s, 0).containsAll(List.of("down_blocks.0.resnets.0", "down_blocks.2.resnets.1",
                "mid_block", "up_blocks.0.upsamplers.0", "up_blocks.2.resnets.1")));
        assertTrue(!DeepCache.reusedNodes(s, 0).contains("up_blocks.2.resnets.2"));
        assertThrows(IllegalArgumentException.class, () -> DeepCache.reusedNodes(s, 9));
    }
}
