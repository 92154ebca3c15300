package dev.unet4j.caching;

import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-body reuse ({@code adaptive:}, {@code auto:}) composed with a policy that drops the unconditional half
 * ({@code cfg-cache}): a cond-only call (batch B) reuses the conditional half of the residual a guided 2B call kept.
 * Truth: the same reuse made by a guided call on {@code [x; x]}, whose conditional half reads that same half.
 */
class GuidedBodyReuseTest {
    static final String REUSE_ALWAYS = "adaptive:threshold=1000000,warmup=1,cooldown=0,max-run=9";
    static final String CFG_EVERY_OTHER = "cfg-cache:interval=2,t-min=-1,t-max=1000";
    static TestModels sd;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        sd = new TestModels(TestModels.SD);
    }

    @AfterAll
    static void close() {
        sd.close();
    }

    /** Item {@code i} of a batched tensor, repeated {@code times} along the batch. */
    static Tensor item(Tensor t, int i, int times) {
        long[] shape = t.shape().clone();
        shape[0] = 1;
        float[] one;
        try (Tensor v = t.narrow(0, i, 1)) {
            one = v.toFloatArray();
        }
        float[] out = new float[one.length * times];
        for (int k = 0; k < times; k++) System.arraycopy(one, 0, out, k * one.length, one.length);
        shape[0] = times;
        return Tensor.of(out, shape);
    }

    /** Call {@code k}'s inputs with its conditional sample: {@code [x_c]} (cond-only) or {@code [x_c; x_c]} with both halves' text. */
    static UNetInputs condSample(int k, boolean condOnly) {
        UNetInputs in = sd.call(k);
        Tensor x = item(in.sample(), 1, condOnly ? 1 : 2);
        Tensor ehs = condOnly ? item(in.encoderHiddenStates(), 1, 1) : in.encoderHiddenStates();
        return UNetInputs.builder(x, Timestep.float64(TestModels.timestep(k))).encoderHiddenStates(ehs).build();
    }

    @Test
    void condOnlyCallReusesTheConditionalHalfOfTheResidual() {
        float[] truth, got;
        try (var s = sd.model.newSession(); CacheSession c = CacheSession.open(s, CachePolicies.parse(REUSE_ALWAYS), sd.info(2))) {
            c.callGuided(0, sd.call(0)).close();
            try (Tensor y = c.callGuided(1, condSample(1, false))) {
                assertTrue(c.report().calls().get(1).mode().contains("reuse"), c.report().calls().get(1).mode());
                try (Tensor half = y.narrow(0, 1, 1)) {
                    truth = half.toFloatArray();
                }
            }
        }
        CachePolicy p = CachePolicies.parse(CFG_EVERY_OTHER + "+" + REUSE_ALWAYS);
        GenerationReport r;
        try (var s = sd.model.newSession(); CacheSession c = CacheSession.open(s, p, sd.info(2))) {
            assertTrue(!c.conditionalOnly(0, TestModels.timestep(0)));
            c.callGuided(0, sd.call(0)).close();
            assertTrue(c.conditionalOnly(1, TestModels.timestep(1)));
            try (Tensor y = c.callConditionalOnly(1, condSample(1, true)); Tensor half = y.narrow(0, 1, 1)) {
                got = half.toFloatArray();
            }
            r = c.report();
        }
        CallReport call1 = r.calls().get(1);
        assertTrue(call1.mode().contains("reuse") && call1.mode().contains("cond-only"), call1.mode());
        assertTrue(call1.macsDone() < call1.fullMacs() / 10, "a reused cond-only call runs conv_in and the output layers only: " + call1.macsDone());
        TestModels.assertClose("cond-only reuse vs the conditional half of a guided reuse", truth, got, 1e-5);
    }

    /** Guided calls {@code 0..calls-1}, cond-only where the session says so; the report. */
    static GenerationReport generate(CachePolicy p, int calls) {
        try (var s = sd.model.newSession(); CacheSession c = CacheSession.open(s, p, sd.info(calls))) {
            for (int k = 0; k < calls; k++) {
                boolean condOnly = c.conditionalOnly(k, TestModels.timestep(k));
                (condOnly ? c.callConditionalOnly(k, condSample(k, true)) : c.callGuided(k, sd.call(k))).close();
            }
            return c.report();
        }
    }

    @Test
    void autoCalibratesAcrossCondOnlyCallsThenSkips() throws Exception {
        CachePolicy p = AutoCalibration.besideModel(CachePolicies.parse(CFG_EVERY_OTHER + "+auto:speedup=2"), dir);
        GenerationReport calibration = generate(p, 8);
        assertTrue(Files.isRegularFile(dir.resolve(AutoCalibration.FILE_NAME)), "calibration written");
        assertEquals(4, calibration.calls().stream().filter(c -> c.mode().contains("cond-only")).count(), calibration.table());
        assertTrue(calibration.calls().stream().noneMatch(c -> c.mode().contains("skip")), calibration.table());
        GenerationReport second = generate(p, 8);
        long skipped = second.calls().stream().filter(c -> c.mode().contains("auto skip")).count();
        // the schedule skips 4 of 8 (speedup 2); a 2B call right after a cond-only full call has no 2B residual to reuse
        System.out.println(second.table());
        assertTrue(skipped >= 2 && skipped <= 4, second.table());
        assertTrue(second.macsDone() < 0.75 * second.fullMacs(), second.table());
    }
}
