package dev.unet4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top-level {@code unet4j} command: only dispatches to the subcommands. */
@Command(name = "unet4j", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Runs diffusers UNets and Stable Diffusion pipelines on the JVM: prompt to picture, generation, prompt "
                + "encoding, single forward calls, benchmarks, model inspection and quantization.",
        subcommands = {GenerateCommand.class, EncodePromptCommand.class, ForwardCommand.class, BenchCommand.class, InspectCommand.class,
                QuantizeCommand.class, picocli.CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j generate                      # the bundled demo-text model's prompt grid -> ./unet4j-digits.png",
                "  unet4j generate --prompt \"a handwritten seven\" --seed 1 --out seven.png --upscale 8",
                "  unet4j generate --model demo-digits --class-label 7 --seed 1 --out seven.png --upscale 8",
                "  unet4j encode-prompt --prompt \"a handwritten seven\" --output prompt.safetensors",
                "  unet4j inspect --model ./my-unet",
                "  unet4j forward --model ./my-unet --inputs in.safetensors --output out.safetensors --capture mid_block",
                "  unet4j bench --model demo-digits --batch 8 --steps 25 --quant int8 --json",
                "",
                "Exit codes: 0 ok, 1 bad input or failed run, 2 usage error."})
final class UnetCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: generate, encode-prompt, forward, bench, inspect or quantize");
    }
}
