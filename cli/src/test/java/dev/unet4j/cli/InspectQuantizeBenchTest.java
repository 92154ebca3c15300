package dev.unet4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InspectQuantizeBenchTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"unet2d-ddpm-tiny, 1624323, 221184", "unet2d-cond-sd-tiny, 2181860, 294912", "demo-digits, 1708417, 73728"})
    void inspectPrintsTheExactParameterCountAndConvInMacs(String model, long params, long convInMacs) {
        // conv_in MACs = H * W * out * in * 3 * 3 at 16x16 with 32 output channels: 3, 4 and 1 input channels
        String m = model.equals("demo-digits") ? model : Fixtures.fixture(model).toString();
        Cli.Result r = Cli.run("inspect", "--model", m).assertOk();
        assertTrue(r.out().contains("parameters      " + params + "\n"), r.out());
        String convIn = r.out().lines().filter(l -> l.strip().startsWith("conv_in ")).findFirst().orElseThrow();
        assertTrue(convIn.endsWith(String.format("%,d", convInMacs)), convIn);
        assertEquals(16L * 16 * 32 * 9 * (model.contains("ddpm") ? 3 : model.contains("cond") ? 4 : 1), convInMacs);
    }

    @Test
    void inspectListsWhatACachePolicySkips() {
        Cli.Result r = Cli.run("inspect", "--cache", "deepcache:interval=2", "--steps", 3).assertOk();
        List<String> calls = r.out().lines().filter(l -> l.strip().startsWith("call ")).toList();
        assertEquals(3, calls.size(), r.out());
        assertTrue(calls.get(0).contains("computes every node"), calls.get(0));
        assertTrue(calls.get(1).contains("skips") && calls.get(1).contains("mid_block"), calls.get(1));
        assertTrue(calls.get(2).contains("computes every node"), calls.get(2));
    }

    @Test
    void quantizedCheckpointIsWrittenAndLoadsAsItIs() throws IOException {
        Path q = dir.resolve("int8");
        Cli.run("quantize", "--quant", "int8", "--out", q).assertOk();
        try (SafetensorsFile f = SafetensorsFile.open(q.resolve("diffusion_pytorch_model.safetensors"))) {
            assertEquals(DType.I8, f.info("down_blocks.0.resnets.0.conv1.weight").dtype());
            assertEquals(DType.F32, f.info("conv_in.weight").dtype(), "the default float set stays float32");
        }
        assertTrue(Files.exists(q.resolve("scheduler_config.json")));
        Cli.Result inspect = Cli.run("inspect", "--model", q).assertOk();
        assertTrue(inspect.out().contains("parameters      1708417\n") && inspect.out().contains("I8 "), inspect.out());
        Path png = dir.resolve("q.png");
        Cli.run("generate", "--model", q, "--class-label", 6, "--steps", 2, "--out", png).assertOk();
        assertEquals(16, ImageIO.read(png.toFile()).getWidth());
        Cli.run("quantize", "--quant", "int8", "--out", q).assertError(1, "already exists");
        Cli.run("generate", "--model", q, "--quant", "int8").assertError(1, "already a quantized checkpoint");
    }

    @Test
    void quantizedGenerationStaysCloseToFloat() throws IOException {
        // INT8 per-channel weights on the demo: the image moves by a few grey levels at most (a bad mapping moves it by 100s)
        Path f = dir.resolve("f.png");
        Path q = dir.resolve("q.png");
        Cli.run("generate", "--class-label", 8, "--steps", 5, "--out", f).assertOk();
        Cli.run("generate", "--class-label", 8, "--steps", 5, "--out", q, "--quant", "int8").assertOk();
        BufferedImage a = ImageIO.read(f.toFile()), b = ImageIO.read(q.toFile());
        int worst = 0;
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) worst = Math.max(worst, Math.abs(a.getRaster().getSample(x, y, 0) - b.getRaster().getSample(x, y, 0)));
        }
        assertTrue(worst <= 16, "max grey-level change " + worst);
    }

    @Test
    void benchJsonHasOneLinePerConfigurationPlainFirst() throws IOException {
        Cli.Result r = Cli.run("bench", "--iterations", 2, "--warmup", 1, "--steps", 2, "--generations", 1,
                "--cache", "deepcache:interval=2", "--quant", "int8", "--json").assertOk();
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : r.out().strip().split("\\R")) lines.add(json.readTree(l));
        assertEquals(List.of("plain", "cache deepcache:interval=2,branch=0", "quant int8"),
                lines.stream().map(n -> n.get("config").asText()).toList());
        for (JsonNode n : lines) {
            for (String k : List.of("forward_ms_median", "forward_ms_min", "generation_ms_median", "macs_ratio")) {
                assertNotNull(n.get(k), k + " in " + n);
            }
            assertTrue(n.get("forward_ms_min").asDouble() > 0 && n.get("forward_ms_min").asDouble() <= n.get("forward_ms_median").asDouble(), n.toString());
        }
        assertEquals(1.0, lines.get(0).get("macs_ratio").asDouble());
        // 2 calls, the second reusing the deep features: well under full compute
        double cacheRatio = lines.get(1).get("macs_ratio").asDouble();
        assertTrue(cacheRatio > 0.5 && cacheRatio < 0.6, "deepcache interval 2 over 2 calls: (1 + ~0.08) / 2, got " + cacheRatio);
        assertEquals(1.0, lines.get(2).get("macs_ratio").asDouble(), "quantization computes every MAC");
        assertTrue(lines.get(2).get("psnr_db_vs_full").asDouble() > 30, lines.get(2).toString());
    }

    @Test
    void mixedPrecisionBeatsUniformBitsAtTheSameAverage() throws IOException {
        // the knapsack spends the 4-bit average where the measured sensitivity is: closer to float than all-4-bit
        Cli.Result r = Cli.run("bench", "--iterations", 1, "--warmup", 0, "--quant", "dr:4", "--quant", "mixed:4", "--json").assertOk();
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : r.out().strip().split("\\R")) lines.add(json.readTree(l));
        double uniform = lines.get(1).get("psnr_db_vs_full").asDouble();
        double mixed = lines.get(2).get("psnr_db_vs_full").asDouble();
        assertEquals("quant mixed:4", lines.get(2).get("config").asText());
        assertTrue(mixed > uniform + 3, "mixed:4 " + mixed + " dB vs dr:4 " + uniform + " dB");
    }

    @Test
    void everyLibraryFormRunsAsABenchRow() throws IOException {
        // bf16 compute on its own kernels, s8 activations, and the mixed budget as a fraction and as a size
        Cli.Result r = Cli.run("bench", "--iterations", 1, "--warmup", 0, "--quant", "bf16", "--quant", "int8-w8a8",
                "--quant", "mixed:0.2", "--quant", "mixed:1.2MB", "--json").assertOk();
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String l : r.out().strip().split("\\R")) lines.add(json.readTree(l));
        assertEquals(List.of("plain", "quant bf16", "quant int8-w8a8", "quant mixed:0.2", "quant mixed:1.2MB"),
                lines.stream().map(n -> n.get("config").asText()).toList());
        for (JsonNode n : lines.subList(1, lines.size())) {
            double psnr = n.get("psnr_db_vs_full").asDouble();
            String compute = n.get("compute").asText();
            assertEquals(CpuFeatures.isa(), n.get("isa").asText());
            if (compute.startsWith("f32 (bf16 compute not available")) {
                // no bf16 compute on this CPU: said in the row, and the numbers are float32's (PSNR vs float32 huge or exact)
                assertFalse(CpuFeatures.bf16Compute(), n.toString());
                assertTrue(n.get("psnr_db_vs_full").isNull() || psnr > 120, n.toString());
                continue;
            }
            // close to float32 (int8 W8A32 gives > 30 dB), yet not float32 itself: the scheme really ran
            assertTrue(psnr > 40 && psnr < 120, n.toString());
        }
        String bf16Row = lines.get(1).get("compute").asText();
        if (CpuFeatures.bf16Compute()) assertTrue(bf16Row.startsWith("bf16"), bf16Row);
        else assertEquals("f32 (bf16 compute not available on " + CpuFeatures.isa() + ")", bf16Row);
    }

    @Test
    void benchTakesTheForwardInputsFile() throws IOException {
        Path fx = Fixtures.fixture("unet2d-cond-sd-tiny");
        Cli.Result r = Cli.run("bench", "--model", fx, "--inputs", fx.resolve("inputs.safetensors"), "--iterations", 1, "--json").assertOk();
        JsonNode n = new ObjectMapper().readTree(r.out().strip());
        assertEquals(2, n.get("batch").asInt(), "the fixture's batch");
        assertEquals("16x16", n.get("size").asText());
        Cli.run("bench", "--model", fx, "--inputs", fx.resolve("inputs.safetensors"), "--batch", 4).assertError(1, "--inputs sets the batch");
    }

    @Test
    void benchTableWithoutJson() {
        Cli.Result r = Cli.run("bench", "--iterations", 1, "--warmup", 0, "--batch", 2, "--size", "8x8").assertOk();
        assertTrue(r.out().contains("batch 2, 8x8") && r.out().contains("plain"), r.out());
        Cli.run("bench", "--size", "8by8").assertError(1, "--size 8by8");
    }
}
