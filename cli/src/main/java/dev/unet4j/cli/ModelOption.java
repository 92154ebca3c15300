package dev.unet4j.cli;

import picocli.CommandLine.Option;

/** The {@code --model} option of the commands that run or read a float or quantized model. */
final class ModelOption {
    @Option(names = "--model", paramLabel = "DIR", defaultValue = DemoModel.NAME,
            description = "diffusers model folder, or demo-digits. Default: ${DEFAULT-VALUE}.")
    String folder;
}
