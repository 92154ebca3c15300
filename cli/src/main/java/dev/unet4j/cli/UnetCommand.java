package dev.unet4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top-level {@code unet4j} command: only dispatches to the subcommands. */
@Command(name = "unet4j", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Runs diffusers UNets on the JVM: generation, single forward calls, benchmarks, model inspection and quantization.",
        subcommands = {GenerateCommand.class, ForwardCommand.class, SegmentCommand.class, BenchCommand.class, InspectCommand.class,
                QuantizeCommand.class, ServeCommand.class, picocli.CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j generate                      # a grid of the bundled demo model's digits -> ./unet4j-digits.png",
                "  unet4j generate --class-label 7 --seed 1 --out seven.png --upscale 8",
                "  unet4j inspect --model ./my-unet",
                "  unet4j forward --model ./my-unet --inputs in.safetensors --output out.safetensors --capture mid_block",
                "  unet4j bench --model demo-digits --batch 8 --steps 25 --quant int8 --json",
                "  unet4j serve                         # HTTP API and web page on http://127.0.0.1:7860/",
                "",
                "Exit codes: 0 ok, 1 bad input or failed run, 2 usage error."})
final class UnetCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: generate, forward, bench, inspect, quantize or serve");
    }
}
