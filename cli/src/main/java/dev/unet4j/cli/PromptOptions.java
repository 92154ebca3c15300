package dev.unet4j.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options of {@code generate} for text-to-image pipelines (a folder with {@code model_index.json}). */
final class PromptOptions {
    @Option(names = "--prompt", paramLabel = "TEXT",
            description = "Text-to-image pipelines: the prompt. Without --prompt (and without --model) the demo-text grid "
                    + "of 'a handwritten zero' ... 'nine' x seeds 0-7 is drawn.")
    String prompt;

    @Option(names = "--negative-prompt", paramLabel = "TEXT", description = "The negative prompt. Default: the empty string.")
    String negativePrompt;

    @Option(names = "--width", paramLabel = "W", description = "Image width in pixels, a multiple of 8. Default: the model's (demo-text 32).")
    Integer width;

    @Option(names = "--height", paramLabel = "H", description = "Image height in pixels, a multiple of 8. Default: the model's (demo-text 32).")
    Integer height;

    @Option(names = "--num-images", paramLabel = "K", description = "Images per prompt (one batch); K > 1 writes OUT-0.png ... Default: 1.")
    Integer numImages;

    @Option(names = "--guidance-rescale", paramLabel = "PHI", description = "diffusers' guidance_rescale in [0, 1]. Default: 0.")
    Double guidanceRescale;

    @Option(names = "--clip-skip", paramLabel = "N", description = "Use the text encoder's output N layers before the last. Default: 0.")
    Integer clipSkip;

    @Option(names = "--prompt-syntax", paramLabel = "MODE", description = "How prompts are encoded: truncate (diffusers: "
            + "77 tokens, the rest cut), long (longer prompts in 75-token windows, concatenated, as compel), weighted "
            + "(AUTOMATIC1111: the same windows, (word:1.2) / (word) / [word] emphasis and BREAK). Default: truncate.")
    String promptSyntax;

    @Option(names = "--init-image", paramLabel = "PNG", description = "img2img: start from this PNG (RGB, RGBA, greyscale; its size, rounded down to a multiple of 8).")
    Path initImage;

    @Option(names = "--strength", paramLabel = "S", description = "img2img/inpainting strength in (0, 1]: how much of the schedule runs. Default: diffusers' (0.8, "
            + "with --mask 1; SDXL 0.3, with --mask 0.9999).")
    Double strength;

    @Option(names = "--mask", paramLabel = "PNG", description = "Inpainting mask for --init-image (white = repaint, black = keep): "
            + "9-channel inpainting UNets get mask and masked image as input, 4-channel ones blend after every step.")
    Path mask;

    @Option(names = "--switch-model", paramLabel = "DIR", description = "A-SDM multi-UNet switching: a second UNet of the same "
            + "latent space (a UNet folder, or a pipeline folder's unet/; e.g. a BK-SDM-style compressed UNet) that runs "
            + "part of the steps. Needs --switch-at.")
    Path switchModel;

    @Option(names = "--switch-at", paramLabel = "F", description = "With --switch-model: the first round(F x steps) steps run "
            + "the first model, the rest the other (F in [0, 1]).")
    Double switchAt;

    @Option(names = "--switch-order", paramLabel = "ORDER", description = "With --switch-model: main-first (default: the "
            + "pipeline's UNet, then the switch model) or small-first (the switch model first).")
    String switchOrder;

    @Option(names = "--config", paramLabel = "DIR", description = "Single-file checkpoints (--model file.safetensors in the "
            + "original LDM/A1111 layout): a diffusers pipeline folder giving the tokenizer and the component configs "
            + "(needed for models whose sizes the keys cannot say). Without it the configs of the detected type are built in.")
    Path config;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", description = "Apply a LoRA (kohya/A1111, diffusers/PEFT or LoCon "
            + ".safetensors) to this generation's UNet and text encoder at SCALE (default 1). Repeatable: the LoRAs add up.")
    java.util.List<String> loras;

    @Option(names = "--lora-strict", paramLabel = "BOOL", arity = "1", description = "true (default): a LoRA module that "
            + "targets no layer of the model is an error; false: such modules are skipped.")
    Boolean loraStrict;

    /** {@code --prompt-syntax}, checked. */
    dev.unet4j.pipeline.PromptSyntax syntax() {
        return syntax(promptSyntax);
    }

    /** {@code --prompt-syntax} text to its value (null = truncate). */
    static dev.unet4j.pipeline.PromptSyntax syntax(String text) {
        if (text == null) return dev.unet4j.pipeline.PromptSyntax.TRUNCATE;
        for (dev.unet4j.pipeline.PromptSyntax s : dev.unet4j.pipeline.PromptSyntax.values()) {
            if (s.name().equalsIgnoreCase(text)) return s;
        }
        throw new UserException("--prompt-syntax must be truncate, long or weighted, got '" + text + "'");
    }

    /** {@code --switch-model/--switch-at/--switch-order}, checked; null without --switch-model. */
    dev.unet4j.pipeline.UNetSwitch unetSwitch() throws java.io.IOException {
        if (switchModel == null) {
            if (switchAt != null || switchOrder != null) throw new UserException("--switch-at and --switch-order need --switch-model DIR");
            return null;
        }
        if (!java.nio.file.Files.isDirectory(switchModel)) {
            throw new java.nio.file.NoSuchFileException(switchModel.toString(), null, "(--switch-model: a UNet or pipeline folder)");
        }
        if (switchAt == null) throw new UserException("--switch-model needs --switch-at F (the fraction of the steps the first model runs)");
        if (!(switchAt >= 0 && switchAt <= 1)) throw new UserException("--switch-at must be in [0, 1], got " + switchAt);
        dev.unet4j.pipeline.UNetSwitch.Order order;
        if (switchOrder == null || switchOrder.equalsIgnoreCase("main-first")) order = dev.unet4j.pipeline.UNetSwitch.Order.MAIN_FIRST;
        else if (switchOrder.equalsIgnoreCase("small-first")) order = dev.unet4j.pipeline.UNetSwitch.Order.SMALL_FIRST;
        else throw new UserException("--switch-order must be main-first or small-first, got '" + switchOrder + "'");
        return new dev.unet4j.pipeline.UNetSwitch(switchModel, switchAt, order);
    }

    /** Whether any option of this group was given. */
    boolean any() {
        return prompt != null || negativePrompt != null || width != null || height != null || numImages != null
                || guidanceRescale != null || clipSkip != null || promptSyntax != null || initImage != null || strength != null || mask != null
                || config != null || loras != null || loraStrict != null
                || switchModel != null || switchAt != null || switchOrder != null;
    }
}
