package dev.unet4j.samplers;

import dev.unet4j.samplers.schedule.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sampler registry: one entry per name, names and aliases distinct, each entry building the sampler it names. */
class SamplerRegistryTest {
    private static final SchedulerConfig CFG = SchedulerConfig.defaults();

    @Test
    void everyNameAndAliasIsListedOnce() {
        Set<String> seen = new HashSet<>();
        for (SamplerEntry e : Samplers.ALL) {
            assertTrue(seen.add(e.name()), "twice: " + e.name());
            for (String a : e.aliases()) {
                String lower = a.toLowerCase(Locale.ROOT);
                assertTrue(lower.equals(e.name()) || seen.add(lower), "twice: " + a);
            }
            assertFalse(e.description().isBlank(), e.name());
        }
        assertEquals(12, Samplers.NAMES.size());
    }

    @Test
    void eachEntryBuildsTheSamplerItNames() {
        for (SamplerEntry e : Samplers.ALL) {
            assertEquals(e.name(), e.factory().apply(SamplerOptions.of(CFG)).name());
            assertEquals(e.name(), Samplers.byName(e.name(), SamplerOptions.of(CFG)).name());
            assertEquals(e, Samplers.named(e.name()).orElseThrow());
        }
    }

    @Test
    void aliasesResolveWithoutRegardToCaseNamesOnlyExactly() {
        assertEquals("euler-ancestral", Samplers.resolve(" Euler A ").orElseThrow().name());
        assertEquals("pndm", Samplers.resolve("PLMS").orElseThrow().name());
        assertEquals("dpmpp-2m-karras", Samplers.resolve("dpm++ 2m karras").orElseThrow().name());
        assertEquals("ddim", Samplers.resolve("DDIM").orElseThrow().name());
        assertTrue(Samplers.named("plms").isEmpty());
        assertTrue(Samplers.resolve("unipc").isEmpty());
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> Samplers.byName("plms", SamplerOptions.of(CFG)));
        assertEquals("unknown scheduler 'plms'; valid names: " + String.join(", ", Samplers.NAMES), x.getMessage());
    }

    @Test
    void theSettingsEachSamplerReadsAreListedInRegistryOrder() {
        assertEquals("ddim", Samplers.namesReading(SamplerEntry.Setting.ETA));
        assertEquals("edm-euler, edm-heun", Samplers.namesReading(SamplerEntry.Setting.RHO));
        assertEquals("euler, euler-karras, edm-euler, edm-heun", Samplers.namesReading(SamplerEntry.Setting.CHURN));
        assertEquals(List.of("euler", "euler-karras", "heun-karras", "euler-ancestral", "edm-euler", "edm-heun"),
                List.of(Samplers.namesReading(SamplerEntry.Setting.SIGMA_RANGE).split(", ")));
    }
}
