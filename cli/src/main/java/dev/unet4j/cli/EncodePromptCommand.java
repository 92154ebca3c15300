package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.PromptEncoder;
import dev.unet4j.pipeline.PromptSyntax;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.text.ClipChunks;
import dev.unet4j.text.ClipEncoding;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

@Command(name = "encode-prompt", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Shows how a pipeline sees a prompt: the tokens and the padded input ids (what the text encoder gets), "
                + "and with --output writes input_ids (int64) and, where the folder has a text encoder, prompt_embeds."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j encode-prompt --prompt \"a handwritten seven\"",
                "  unet4j encode-prompt --model ./stable-diffusion-v1-5 --prompt \"a lighthouse, (dusk:1.2)\" --prompt-syntax weighted --output p.safetensors",
                "  unet4j encode-prompt --model ./stable-diffusion-v1-5/tokenizer --prompt \"a cat\""})
final class EncodePromptCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", paramLabel = "DIR",
            description = "A pipeline folder (tokenizer/ and text_encoder/), a tokenizer folder (vocab.json, merges.txt), "
                    + "or demo-text. Default: demo-text.")
    String model;

    @Option(names = "--prompt", paramLabel = "TEXT", required = true, description = "The prompt.")
    String prompt;

    @Option(names = "--clip-skip", paramLabel = "N", defaultValue = "0", description = "Text encoder layers skipped at the end. Default: ${DEFAULT-VALUE}.")
    int clipSkip;

    @Option(names = "--prompt-syntax", paramLabel = "MODE", description = "truncate (default, diffusers), long (75-token "
            + "windows) or weighted (windows and A1111 emphasis), as for generate: prints every window (and the weights "
            + "that are not 1); input_ids become [windows, T], weighted adds weights [windows, T], prompt_embeds [1, windows x T, D].")
    String promptSyntax;

    @Option(names = "--output", paramLabel = "FILE", description = ".safetensors with input_ids [1, T] (int64) and prompt_embeds [1, T, D].")
    Path output;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        common.checkThreads(spec.commandLine().getErr());
        if (output != null && !output.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".safetensors")) {
            throw new UserException("--output " + output + ": use a .safetensors file name");
        }
        Path dir = model == null || model.equals(DemoText.NAME) ? DemoText.folder() : Path.of(model);
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "(--model)");
        boolean pipeline = Files.isDirectory(dir.resolve("tokenizer"));
        ClipTokenizer tokenizer = ClipTokenizer.load(pipeline ? dir.resolve("tokenizer") : dir);
        ClipEncoding enc = tokenizer.encode(prompt);
        out.printf(Locale.ROOT, "tokens (%d): %s%n", enc.tokens().size(), String.join(" ", enc.tokens()));
        out.printf(Locale.ROOT, "ids (%d with BOS/EOS): %s%n", enc.ids().length, join(enc.ids()));
        out.printf(Locale.ROOT, "input_ids (%d, padded with %d%s): %s%n", enc.inputIds().length, tokenizer.padTokenId(),
                enc.truncated() ? ", TRUNCATED to " + tokenizer.modelMaxLength() + " as diffusers does" : "", join(enc.inputIds()));
        PromptSyntax syntax = PromptOptions.syntax(promptSyntax);
        SafetensorsWriter w = new SafetensorsWriter();
        if (syntax == PromptSyntax.TRUNCATE) {
            long[] ids = Arrays.stream(enc.inputIds()).asLongStream().toArray();
            w.add("input_ids", ids, 1, ids.length);
        } else {
            windows(PromptEncoder.windows(tokenizer, prompt, syntax), syntax, out, w);
        }
        Path textEncoder = dir.resolve("text_encoder");
        if (pipeline && Files.isDirectory(textEncoder)) {
            try (DnnlKernels kernels = new DnnlKernels();
                 PromptEncoder encoder = new PromptEncoder(tokenizer, ClipTextModel.load(textEncoder, kernels))) {
                TextConditioning e = encoder.encode(prompt, clipSkip, null, syntax);
                int[] s = e.shape();
                w.add("prompt_embeds", e.data(), s[0], s[1], s[2]);
                out.printf(Locale.ROOT, "prompt_embeds %s%s%n", Arrays.toString(s), clipSkip > 0 ? " (clip skip " + clipSkip + ")" : "");
            }
        } else if (clipSkip != 0) {
            throw new UserException("--clip-skip needs a pipeline folder with text_encoder/");
        }
        if (output != null) {
            w.write(output);
            out.printf(Locale.ROOT, "wrote %s%n", output.toAbsolutePath().normalize());
        }
        out.flush();
        return Main.EXIT_OK;
    }

    /** Prints the windows (and weights other than 1) and adds input_ids [n, T] (and weights [n, T]) to {@code w}. */
    private static void windows(ClipChunks c, PromptSyntax syntax, PrintWriter out, SafetensorsWriter w) {
        int n = c.count(), t = c.inputIds()[0].length;
        long[] ids = new long[n * t];
        float[] weights = new float[n * t];
        for (int i = 0; i < n; i++) {
            out.printf(Locale.ROOT, "window %d input_ids: %s%n", i, join(c.inputIds()[i]));
            StringBuilder ws = new StringBuilder();
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = c.inputIds()[i][j];
                weights[i * t + j] = c.weights()[i][j];
                if (c.weights()[i][j] != 1f) ws.append(' ').append(j).append(':').append(c.weights()[i][j]);
            }
            if (syntax == PromptSyntax.WEIGHTED && ws.length() > 0) out.printf(Locale.ROOT, "window %d weights (position:weight):%s%n", i, ws);
        }
        w.add("input_ids", ids, n, t);
        if (syntax == PromptSyntax.WEIGHTED) w.add("weights", weights, n, t);
    }

    private static String join(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }
}
