package dev.unet4j.cli;

import dev.unet4j.core.io.TempPaths;
import dev.unet4j.core.checkpoint.ModelFiles;
import dev.unet4j.quantization.io.QuantizedCheckpoint;
import dev.unet4j.quantization.spec.QuantSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "quantize", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Writes a quantized copy of a float model: config.json and diffusion_pytorch_model.safetensors with "
                + "I8/F8 weights, their per-channel scales (<weight>.scale) and the plan in the header metadata. "
                + "generate, forward and bench load such a folder as it is (no --quant).",
                "The folder is written under a temporary name and renamed when complete; an existing --out is refused."},
        footerHeading = "%nExamples:%n",
        footer = {"  unet4j quantize --quant int8 --out ./digits-int8", "  unet4j quantize --model ./unet --quant fp8-e4m3 --out ./unet-fp8",
                "  unet4j generate --model ./digits-int8 --class-label 4 --out four.png"})
final class QuantizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", paramLabel = "DIR", defaultValue = DemoModel.NAME,
            description = "Float diffusers model folder, or demo-digits. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--quant", paramLabel = "SPEC", required = true,
            description = "int8, fp8-e4m3 or fp8-e5m2 (the stored codes). The other --quant forms are chosen when a float "
                    + "model is loaded (bf16, int8-w8a8 activations, dr:N, mixed:BUDGET) and are refused here.")
    String quant;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "The folder to create.")
    Path out;

    @Override
    public Integer call() throws IOException {
        common.checkThreads(spec.commandLine().getErr());
        QuantSpec q = checkpointScheme(LoadedModel.parseQuant(quant));
        if (Files.exists(out)) throw new UserException("--out " + out + " already exists; choose a new folder");
        long t0 = System.nanoTime();
        ModelFiles files = LoadedModel.locate(model);
        QuantizedCheckpoint ckpt = QuantizedCheckpoint.quantize(files.folder(), q.plan());
        Path target = out.toAbsolutePath();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path tmp = TempPaths.createDirectory(parent, "." + target.getFileName() + "-");
        try {
            ckpt.write(tmp);
            if (files.schedulerConfig().isPresent()) Files.copy(files.schedulerConfig().get(), tmp.resolve("scheduler_config.json"));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target);
            }
        } finally {
            TempPaths.deleteTree(tmp);
            TempPaths.release(tmp);
        }
        if (!common.quiet) {
            PrintWriter stdout = spec.commandLine().getOut();
            long bytes = Files.size(target.resolve(QuantizedCheckpoint.WEIGHTS_FILE));
            stdout.printf(Locale.ROOT, "wrote %s (%d quantized weights, %d float tensors, %d bytes) in %.1f s%n", out,
                    ckpt.quantized().size(), ckpt.floats().size(), bytes, (System.nanoTime() - t0) / 1e9);
            stdout.flush();
        }
        return Main.EXIT_OK;
    }

    /** The schemes a checkpoint stores completely: weight codes and scales, run as they are (no --quant at load). */
    private static QuantSpec checkpointScheme(QuantSpec q) {
        return switch (q.scheme()) {
            case INT8, FP8_E4M3, FP8_E5M2 -> q;
            case FP32, BF16 -> throw new UserException("--quant " + q.text() + " keeps float32 weights: there is nothing to "
                    + "quantize; save int8, fp8-e4m3 or fp8-e5m2");
            case INT8_W8A8, DOUBLE_ROUNDING, MIXED -> throw new UserException("--quant " + q.text() + " is chosen when the "
                    + "float model is loaded, a checkpoint does not store it; save int8, fp8-e4m3 or fp8-e5m2, or run the float "
                    + "model with --quant " + q.text());
        };
    }
}
