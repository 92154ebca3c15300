package dev.unet4j.caching;

import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.caching.policy.MagnitudeSchedule;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code auto:} against MagCache's skip rule transcribed here, on the tiny SD fixture: one calibration generation
 * (full compute) writes the curve, later ones read it and skip as the rule says.
 */
class AutoCalibrationTest {
    static final int CALLS = 8;
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

    /** MagCache's loop: retention calls compute; then accumulate ratio, error and steps, skip while under both caps. */
    static boolean[] magcache(double[] ratios, int retention, int k, double thresh) {
        boolean[] skip = new boolean[ratios.length];
        double accRatio = 1.0, accErr = 0;
        int accSteps = 0;
        for (int cnt = 0; cnt < ratios.length; cnt++) {
            if (cnt < Math.max(1, retention)) continue;
            accRatio = accRatio * ratios[cnt];
            accSteps += 1;
            accErr += Math.abs(1 - accRatio);
            if (accErr < thresh && accSteps <= k) {
                skip[cnt] = true;
            } else {
                accErr = 0;
                accSteps = 0;
                accRatio = 1.0;
            }
        }
        return skip;
    }

    static int count(boolean[] b) {
        int n = 0;
        for (boolean x : b) if (x) n++;
        return n;
    }

    @Test
    void chosenThresholdIsTheLeastThatSkipsTheRequestedCalls() {
        double[] ratios = {1, 0.91, 0.95, 0.97, 0.985, 0.99, 0.995, 1.002, 1.01, 1.03, 1.08, 1.2};
        for (int wanted = 1; wanted <= 10; wanted++) {
            MagnitudeSchedule.Choice c = MagnitudeSchedule.forSkips(ratios, 2, wanted);
            boolean[] got = magcache(ratios, 2, c.maxRun(), c.threshold());
            assertTrue(count(got) >= wanted, "wanted " + wanted + ", skips " + count(got));
            assertEquals(count(got), c.skips());
            assertArrayEquals(got, MagnitudeSchedule.skips(ratios, 2, c.maxRun(), c.threshold()));
            assertTrue(count(magcache(ratios, 2, c.maxRun(), c.threshold() * (1 - 1e-6))) < wanted, "least threshold for " + wanted);
            if (c.maxRun() > 1) {
                assertTrue(count(magcache(ratios, 2, c.maxRun() - 1, 1e300)) < wanted, "least K for " + wanted);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> MagnitudeSchedule.forSkips(ratios, 2, 11));  // only 10 follow warm-up
    }

    List<float[]> generate(CachePolicy p, GenerationReport[] rep) {
        try (UNetSession s = sd.model.newSession(); CacheSession cache = CacheSession.open(s, p, sd.info(CALLS))) {
            List<float[]> out = sd.run(cache, CALLS);
            rep[0] = cache.report();
            return out;
        }
    }

    static int skipped(GenerationReport r) {
        int n = 0;
        for (CallReport c : r.calls()) if (c.mode().contains("auto skip")) n++;
        return n;
    }

    @Test
    void calibratesOnceThenSkipsAsRequestedAndReproduces() throws IOException {
        Path file = dir.resolve("cache-calibration.json");
        AutoCalibration auto = AutoCalibration.parse("speedup=2").besideModel(dir);
        GenerationReport[] rep = new GenerationReport[1];
        List<float[]> first = generate(auto, rep);
        assertEquals(0, skipped(rep[0]), "the calibration generation computes every call");
        assertTrue(rep[0].calls().get(0).mode().contains("calibrating"));
        assertArrayEquals(sd.plain(CALLS).get(CALLS - 1), first.get(CALLS - 1), "calibration is full compute");
        byte[] saved = Files.readAllBytes(file);

        List<float[]> second = generate(auto, rep);
        int wanted = CALLS - CALLS / 2;
        // the curve as saved, through the transcribed rule with the least K and threshold meeting the request
        double[] ratios = savedRatios(file);
        MagnitudeSchedule.Choice c = MagnitudeSchedule.forSkips(ratios, (int) (CALLS * 0.2), wanted);
        assertEquals(count(magcache(ratios, (int) (CALLS * 0.2), c.maxRun(), c.threshold())), skipped(rep[0]));
        assertTrue(skipped(rep[0]) >= wanted, "skips " + skipped(rep[0]) + " of " + CALLS);
        assertTrue(rep[0].macsDone() < 0.6 * rep[0].fullMacs(), "MACs follow the skips");
        assertArrayEquals(saved, Files.readAllBytes(file), "no second calibration");

        List<float[]> third = generate(auto, rep);
        assertArrayEquals(second.get(CALLS - 1), third.get(CALLS - 1), "a calibrated run reproduces bit for bit");
        assertFalse(java.util.Arrays.equals(first.get(CALLS - 1), second.get(CALLS - 1)));
    }

    static double[] savedRatios(Path file) throws IOException {
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        var a = root.get("entries").get(0).get("ratios");
        double[] r = new double[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asDouble();
        return r;
    }

    @Test
    void mismatchedEntryIsRecalibratedAndCorruptFileNamed() throws IOException {
        Path file = dir.resolve("cache-calibration.json");
        Files.writeString(file, """
                {"format": "unet4j-cache-calibration/1", "entries": [
                 {"model": "other", "timesteps": [1, 2], "ratios": [1, 0.9]}]}""");
        GenerationReport[] rep = new GenerationReport[1];
        generate(AutoCalibration.parse("max-error=0.5").besideModel(dir), rep);
        assertTrue(rep[0].calls().get(1).mode().contains("calibrating"), "no matching entry: calibrate");
        var root = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        assertEquals(2, root.get("entries").size(), "the other entry kept, this one added");

        Files.writeString(file, "{\"format\": \"unet4j-cache-calibration/1\", \"entries\": [");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> generate(AutoCalibration.parse("speedup=2").besideModel(dir), rep));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("corrupt"), e.getMessage());
        Files.writeString(file, "{\"format\": \"unet4j-cache-calibration/1\", \"entries\": [{\"model\": \"m\", \"timesteps\": [1], \"ratios\": [-1]}]}");
        e = assertThrows(IllegalStateException.class, () -> generate(AutoCalibration.parse("speedup=2").besideModel(dir), rep));
        assertTrue(e.getMessage().contains("entries[0].ratios"), e.getMessage());
    }

    @Test
    void specErrorsNameTheProblem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("auto")).getMessage().contains("exactly one"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("auto:speedup=2,max-error=0.1")).getMessage().contains("exactly one"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("auto:speedup=1")).getMessage().contains("> 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("auto:speedup=2,max-run=3")).getMessage().contains("max-run"));
        AutoCalibration a = AutoCalibration.parse("speedup=3,file=/tmp/x/cache-calibration.json");
        assertEquals(a, CachePolicies.parse(a.spec()));
        assertEquals(Path.of("/tmp/x/cache-calibration.json"), a.besideModel(Path.of("/elsewhere")).file());
    }

    @Test
    void compositionsCalibrateBesideTheModelPartByPart() {
        CachePolicy p = CachePolicies.parse("tgate:gate-step=10+auto:speedup=2+tome");
        assertTrue(AutoCalibration.calibrates(p));
        assertFalse(AutoCalibration.calibrates(CachePolicies.parse("tgate:gate-step=10+deepcache:interval=3")));
        List<CachePolicy> parts = CachePolicies.parts(AutoCalibration.besideModel(p, Path.of("/models/m")));
        assertEquals(3, parts.size());
        assertEquals(CachePolicies.parse("tgate:gate-step=10"), parts.get(0));
        assertEquals(Path.of("/models/m/cache-calibration.json"), ((AutoCalibration) parts.get(1)).file());
        assertEquals(CachePolicies.parse("tome"), parts.get(2));
        // a part that names its file keeps it
        CachePolicy named = AutoCalibration.besideModel(CachePolicies.parse("auto:speedup=2,file=/tmp/c.json"), Path.of("/models/m"));
        assertEquals(Path.of("/tmp/c.json"), ((AutoCalibration) named).file());
    }
}
