package dev.unet4j.e2e.reliability;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.checkpoint.ModelException;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The smaller items: messages that named no file (a UTF-16 config, malformed quantization metadata), "choose
 * a variant" for a weights path that is a folder or a FIFO, and {@code mixed:1B} measuring sensitivities for seconds
 * before reporting its negative budget.
 */
class SmallerRefusalsTest {
    private static final Path DDPM = Fixtures.fixture("unet2d-ddpm-tiny");

    @TempDir
    Path dir;

    private Path modelWithConfig(String name) throws IOException {
        Path m = Files.createDirectories(dir.resolve(name));
        Files.copy(DDPM.resolve("config.json"), m.resolve("config.json"));
        return m;
    }

    @Test
    void aUtf16ConfigIsRefusedNamingTheFile() throws IOException {
        Path m = modelWithConfig("utf16");
        Files.writeString(m.resolve("config.json"), Files.readString(DDPM.resolve("config.json")), StandardCharsets.UTF_16);
        Files.copy(DDPM.resolve("diffusion_pytorch_model.safetensors"), m.resolve("diffusion_pytorch_model.safetensors"));
        ModelException e = assertThrows(ModelException.class, () -> UNetModel.load(m, LoadOptions.of(Models.KERNELS)));
        assertTrue(e.getMessage().startsWith("config " + m.resolve("config.json") + " is not UTF-8 text"), e.getMessage());
        CliRun.run("inspect", "--model", m).refused(m.resolve("config.json") + " is not UTF-8 text", "save it as UTF-8");
    }

    @Test
    void aWeightsPathThatIsAFolderOrAFifoIsNamedAsSuch() throws Exception {
        Path folder = modelWithConfig("folder");
        Files.createDirectories(folder.resolve("diffusion_pytorch_model.safetensors"));
        ModelException e = assertThrows(ModelException.class, () -> UNetModel.load(folder, LoadOptions.of(Models.KERNELS)));
        assertEquals(folder.resolve("diffusion_pytorch_model.safetensors") + " is a folder, not a weights file", e.getMessage());

        Path fifo = modelWithConfig("fifo");
        Process mk = new ProcessBuilder("mkfifo", fifo.resolve("diffusion_pytorch_model.safetensors").toString()).start();
        assertEquals(0, mk.waitFor());
        e = assertThrows(ModelException.class, () -> UNetModel.load(fifo, LoadOptions.of(Models.KERNELS)));
        assertTrue(e.getMessage().contains("is not a regular file (a pipe, socket or device)"), e.getMessage());
        assertTrue(!e.getMessage().contains("choose a variant"), e.getMessage());
    }

    @Test
    void malformedQuantizationMetadataNamesTheFile() throws IOException {
        Path q = dir.resolve("q");
        CliRun.Result r = CliRun.run("quantize", "--model", Fixtures.model("digits-16"), "--quant", "int8", "--out", q, "--quiet");
        assertEquals(0, r.code(), r.err());
        Path weights = q.resolve(QuantizedCheckpoint.WEIGHTS_FILE);
        for (String[] c : new String[][]{{"{\"version\": 1, \"weights\": ", "is not valid JSON"}, {"[1, 2]", "is not a JSON object"}}) {
            rewriteMetadata(weights, c[0]);
            IOException e = assertThrows(IOException.class, () -> QuantizedUNets.loadCheckpoint(q, Models.KERNELS));
            assertTrue(e.getMessage().startsWith(weights + ": the \"unet4j.quantization\" metadata " + c[1]), e.getMessage());
        }
    }

    private static void rewriteMetadata(Path file, String meta) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> m = new LinkedHashMap<>(f.metadata());
            m.put(QuantizedCheckpoint.METADATA_KEY, meta);
            w.metadata(m);
            for (TensorInfo i : f.infos()) w.addRaw(i.name(), i.dtype(), i.shape(), f.readBytes(i.name()));
        }
        w.write(file);
    }

    @Test
    void aMixedBudgetBelowTheFixedPartIsRefusedBeforeCalibrating() {
        long t0 = System.nanoTime();
        CliRun.run("generate", "--model", Fixtures.model("digits-16"), "--quant", "mixed:1B", "--class-label", 1,
                "--out", dir.resolve("x.png")).refused("mixed:1B: leaves -", "bytes for the quantized weights", "give a larger budget");
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(s < 10, "refused after " + s + " s; the sensitivity measurement took 15 s");
    }
}
