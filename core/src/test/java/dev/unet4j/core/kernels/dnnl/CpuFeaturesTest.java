package dev.unet4j.core.kernels.dnnl;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reported ISA and bf16 capability agree with what the kernel (/proc/cpuinfo) says the CPU has. */
class CpuFeaturesTest {

    static String cpuFlags() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("flags")) return " " + line.substring(line.indexOf(':') + 1).trim() + " ";
        }
        throw new IllegalStateException("no flags line in /proc/cpuinfo");
    }

    @Test
    void isaAndBf16AgreeWithTheCpuFlags() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/cpuinfo")), "Linux only");
        String flags = cpuFlags(), isa = CpuFeatures.isa();
        String max = System.getenv().getOrDefault("ONEDNN_MAX_CPU_ISA", System.getenv().getOrDefault("DNNL_MAX_CPU_ISA", "")).toLowerCase(Locale.ROOT);
        System.out.println("oneDNN ISA " + isa + " (ONEDNN_MAX_CPU_ISA=" + max + "), fpmath bf16 honoured: " + CpuFeatures.fpmathBf16Honoured()
                + ", bf16 instructions: " + CpuFeatures.hasBf16Instructions());
        if (max.equals("avx2")) {
            assertEquals("avx2", isa, "ONEDNN_MAX_CPU_ISA=AVX2 caps the dispatch");
            assertTrue(!CpuFeatures.bf16Compute(), "no bf16 compute on AVX2");
            return;
        }
        if (!max.isEmpty()) return;
        boolean amx = flags.contains(" amx_bf16 "), avx512 = flags.contains(" avx512f "), bf16 = flags.contains(" avx512_bf16 ");
        if (amx) assertTrue(isa.contains("amx"), isa);
        else if (bf16) assertEquals("avx512_core_bf16", isa);
        else if (avx512) assertTrue(isa.startsWith("avx512_core"), isa);
        else if (flags.contains(" avx2 ")) assertTrue(isa.startsWith("avx2"), isa);
        // bf16 rounding shows up only where the hardware has bf16 instructions
        if (!bf16 && !amx) assertTrue(!CpuFeatures.fpmathBf16Honoured(), "bf16 honoured without bf16 hardware");
        if (amx) assertTrue(CpuFeatures.fpmathBf16Honoured(), "AMX computes bf16");
        assertEquals(bf16 || amx, CpuFeatures.bf16Compute(), "bf16 compute exactly where the CPU has bf16 instructions");
    }
}
