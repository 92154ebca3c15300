package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.testing.Jdks;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The busy-core OpenMP default ({@link OpenMpDefaults}): applied only when the user set neither variable, and on Java
 * 22+ set in-process before libgomp loads — checked against libgomp's own report of the spin count it read
 * ({@code OMP_DISPLAY_ENV=VERBOSE} prints {@code GOMP_SPINCOUNT = '...'}).
 */
class OpenMpDefaultsTest {

    @Test
    void onlyAnEnvironmentWithoutTheUsersSettingsIsLeftToUs() {
        assertTrue(OpenMpDefaults.isUnset(Map.of("OMP_NUM_THREADS", "2")));
        assertFalse(OpenMpDefaults.isUnset(Map.of("OMP_WAIT_POLICY", "PASSIVE")));
        assertFalse(OpenMpDefaults.isUnset(Map.of("GOMP_SPINCOUNT", "100")));
    }

    @Test
    void java22SetsTheSpinCountBeforeLibgompReadsIt() throws Exception {
        Optional<Path> java = Jdks.java22();
        assumeTrue(java.isPresent(), "no Java 22+ found (set -Dunet4j.jdk22=JAVA_HOME)");
        String out = probe(java.get(), Map.of());
        assertTrue(out.contains("status=GOMP_SPINCOUNT=3000 set in-process"), out);
        assertEquals("3000", spinCountLibgompRead(out), out);
        assertTrue(out.contains("native=3000"), out);
    }

    @Test
    void theUsersSettingWins() throws Exception {
        Optional<Path> java = Jdks.java22();
        assumeTrue(java.isPresent(), "no Java 22+ found (set -Dunet4j.jdk22=JAVA_HOME)");
        String out = probe(java.get(), Map.of("GOMP_SPINCOUNT", "77"));
        assertTrue(out.contains("status=left to the user's"), out);
        assertEquals("77", spinCountLibgompRead(out), out);
        out = probe(java.get(), Map.of("OMP_WAIT_POLICY", "PASSIVE"));
        assertTrue(out.contains("status=left to the user's"), out);
        assertEquals("0", spinCountLibgompRead(out), "PASSIVE: libgomp does not spin\n" + out);
    }

    @Test
    void optOutBySystemProperty() throws Exception {
        Optional<Path> java = Jdks.java22();
        assumeTrue(java.isPresent(), "no Java 22+ found (set -Dunet4j.jdk22=JAVA_HOME)");
        String out = probe(java.get(), Map.of(), "-D" + OpenMpDefaults.PROPERTY + "=false");
        assertTrue(out.contains("status=off"), out);
        assertEquals("300000", spinCountLibgompRead(out), "libgomp's own default\n" + out);
    }

    private static String probe(Path java, Map<String, String> env, String... jvmArgs) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), OpenMpDefaultsProbe.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("OMP_WAIT_POLICY");
        pb.environment().remove("GOMP_SPINCOUNT");
        pb.environment().put("OMP_DISPLAY_ENV", "VERBOSE");
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** The spin count libgomp printed when it initialised. */
    private static String spinCountLibgompRead(String out) {
        Matcher m = Pattern.compile("GOMP_SPINCOUNT = '(\\d+)'").matcher(out);
        assertTrue(m.find(), "libgomp's OMP_DISPLAY_ENV report\n" + out);
        return m.group(1);
    }
}
