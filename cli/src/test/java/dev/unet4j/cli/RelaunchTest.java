package dev.unet4j.cli;

import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RelaunchTest {
    /** As a Java 22+ JVM sees it (the waiting default set in-process): only the thread count needs a child. */
    private static Map<String, String> need(Map<String, String> env, String... args) {
        return Relaunch.missingEnvironment(args, env, true);
    }

    @Test
    void belowJava22ComputingCommandsGetTheBusyCoreWaitingDefaultUnlessTheUserSetOne() {
        assertEquals(Map.of("GOMP_SPINCOUNT", "3000"), Relaunch.missingEnvironment(new String[] {"generate"}, Map.of(), false));
        assertEquals(Map.of("GOMP_SPINCOUNT", "3000", "OMP_NUM_THREADS", "2"),
                Relaunch.missingEnvironment(new String[] {"serve", "--threads", "2"}, Map.of(), false));
        assertEquals(Map.of(), Relaunch.missingEnvironment(new String[] {"generate"}, Map.of("OMP_WAIT_POLICY", "PASSIVE"), false));
        assertEquals(Map.of(), Relaunch.missingEnvironment(new String[] {"bench"}, Map.of("GOMP_SPINCOUNT", "100000"), false));
        assertEquals(Map.of(), Relaunch.missingEnvironment(new String[] {"quantize", "--out", "x"}, Map.of(), false));
        assertEquals(Map.of(), Relaunch.missingEnvironment(new String[] {"generate", "--help"}, Map.of(), false));
        assertEquals(Map.of(), Relaunch.missingEnvironment(new String[] {"generate"}, Map.of(Relaunch.OPT_OUT, "1"), false));
    }

    @Test
    void computingCommandsGetTheirThreadCountAndNothingElse() {
        assertEquals(Map.of(), need(Map.of(), "generate"));
        assertEquals(Map.of("OMP_NUM_THREADS", "3"), need(Map.of(), "bench", "--threads", "3"));
        assertEquals(Map.of("OMP_NUM_THREADS", "1"), need(Map.of("OMP_WAIT_POLICY", "ACTIVE"), "forward", "--threads=1"));
        assertEquals(Map.of("OMP_NUM_THREADS", "4"), need(Map.of("OMP_NUM_THREADS", "2"), "generate", "--threads", "4"));
        assertEquals(Map.of(), need(Map.of("OMP_NUM_THREADS", "2"), "inspect", "--threads", "2"));
    }

    @Test
    void nothingForHelpOtherCommandsTheChildOrAnOptOut() {
        assertEquals(Map.of(), need(Map.of(), "generate", "--help"));
        assertEquals(Map.of(), need(Map.of(), "--version"));
        assertEquals(Map.of(), need(Map.of(), "quantize", "--quant", "int8", "--out", "x"));
        assertEquals(Map.of(), need(Map.of(), new String[0]));
        assertEquals(Map.of(), need(Map.of(Relaunch.MARKER, "1"), "generate"));
        assertEquals(Map.of(), need(Map.of(Relaunch.OPT_OUT, "1"), "generate"));
    }

    @Test
    void threadValuesMustBePositiveIntegers() {
        assertEquals(Optional.of("4"), Relaunch.threads(new String[] {"generate", "--threads", "4"}));
        assertEquals(Optional.empty(), Relaunch.threads(new String[] {"generate", "--threads", "0"}));
        assertEquals(Optional.empty(), Relaunch.threads(new String[] {"generate", "--threads", "x"}));
        // above the cap no child is started with it (OMP_NUM_THREADS=20000 crashed the child); the command refuses it
        int max = dev.unet4j.core.kernels.dnnl.ThreadLimit.max();
        assertEquals(Optional.of(String.valueOf(max)), Relaunch.threads(new String[] {"generate", "--threads", String.valueOf(max)}));
        assertEquals(Optional.empty(), Relaunch.threads(new String[] {"generate", "--threads", String.valueOf(max + 1)}));
        assertEquals(Map.of(), need(Map.of(), "generate", "--threads", "20000"));
    }
}
