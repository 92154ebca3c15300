package dev.unet4j.cli;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngReader;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.pipeline.GeneratedImages;
import dev.unet4j.pipeline.ModelIndex;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.TextToImage;
import dev.unet4j.pipeline.lora.LoraFile;
import dev.unet4j.pipeline.lora.LoraSet;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.Locale;

/**
 * {@code generate} for text-to-image pipeline folders ({@code model_index.json}) and the bundled {@code demo-text}:
 * prompt (or the demo grid) to PNG through {@link StableDiffusion}.
 */
final class TextGeneration {
    static final String DEFAULT_SINGLE_FILE = "unet4j-image.png";
    /** Options of the UNet path that a pipeline does not take. */
    private static final List<String> UNET_ONLY = List.of("--class-label", "--null-class", "--per-class", "--conditioning",
            "--init-noise", "--noise-from", "--trajectory-out", "--scheduler-config", "--eta", "--sigma-min", "--sigma-max",
            "--rho", "--s-churn", "--s-min", "--s-max", "--s-noise");

    private final GenerateCommand g;
    private final ParseResult parsed;
    private final Path folder;
    private final boolean demo;
    private LoraSet loras = LoraSet.none();

    private TextGeneration(GenerateCommand g, ParseResult parsed, Path folder, boolean demo) {
        this.g = g;
        this.parsed = parsed;
        this.folder = folder;
        this.demo = demo;
    }

    /**
     * The text path when it applies: {@code --model demo-text}, a folder with {@code model_index.json}, or no
     * {@code --model} and no option of the UNet path (then the demo-text model). Null for the UNet path.
     */
    static TextGeneration select(GenerateCommand g, ParseResult parsed) {
        String model = g.model;
        boolean unetOptions = UNET_ONLY.stream().anyMatch(parsed::hasMatchedOption);
        if (model == null) {
            if (unetOptions && !g.prompt.any()) return null;
            return new TextGeneration(g, parsed, null, true);
        }
        if (model.equals(DemoText.NAME)) return new TextGeneration(g, parsed, null, true);
        if (!model.equals(DemoModel.NAME) && (Files.isRegularFile(Path.of(model).resolve("model_index.json"))
                || Files.isRegularFile(Path.of(model)))) {
            return new TextGeneration(g, parsed, Path.of(model), false); // a pipeline folder or a single-file checkpoint
        }
        if (g.prompt.any()) {
            throw new UserException("--prompt and the other text-to-image options need a pipeline folder with model_index.json"
                    + " (or --model demo-text); " + model + " is a UNet model");
        }
        return null;
    }

    int run(PrintWriter stdout, PrintWriter err) throws IOException {
        for (String o : UNET_ONLY) {
            if (parsed.hasMatchedOption(o)) throw new UserException(o + " applies to UNet models, not to the text-to-image pipeline " + name());
        }
        PromptOptions p = g.prompt;
        GenerateCommand.Format format = g.out == null ? GenerateCommand.Format.PNG : GenerateCommand.Format.of(g.out);
        if (p.mask != null && p.initImage == null) throw new UserException("--mask needs --init-image (the image to inpaint)");
        if (p.strength != null && p.initImage == null) throw new UserException("--strength needs --init-image");
        if (g.upscale != null && (g.upscale < 1 || g.upscale > 64)) throw new UserException("--upscale must be 1..64, got " + g.upscale);
        QuantSpec q = LoadedModel.parseQuant(g.quant);
        CacheSpec c = g.cache == null ? null : CacheSpec.parse(g.cache);
        String scheduler = g.scheduler != null ? g.scheduler.toLowerCase(Locale.ROOT) : demo ? DemoText.SCHEDULER : null;
        if (scheduler != null && dev.unet4j.samplers.Samplers.named(scheduler).isEmpty()) {
            throw new UserException("unknown scheduler '" + scheduler + "'; valid: " + dev.unet4j.samplers.Samplers.namesList());
        }
        int steps = parsed.hasMatchedOption("--steps") ? g.steps : demo ? DemoText.STEPS : 50;
        if (steps < 1) throw new UserException("--steps must be >= 1, got " + steps);
        double guidance = g.guidance != null ? g.guidance : demo ? DemoText.GUIDANCE : 7.5;
        TextToImage base = TextToImage.of(p.prompt == null ? "" : p.prompt).negativePrompt(p.negativePrompt).steps(steps)
                .guidance(guidance).promptSyntax(p.syntax());
        try {
            if (p.guidanceRescale != null) base = base.guidanceRescale(p.guidanceRescale);
            if (p.clipSkip != null) base = base.clipSkip(p.clipSkip);
            if (p.numImages != null) base = base.numImages(p.numImages);
            if (scheduler != null) base = base.scheduler(scheduler);
            int h = p.height != null ? p.height : demo ? DemoText.SIZE : 0;
            int w = p.width != null ? p.width : demo ? DemoText.SIZE : 0;
            if (p.initImage == null) base = base.size(h, w);
            if (p.initImage != null) {
                if (p.width != null || p.height != null) {
                    throw new UserException("--width/--height: with --init-image the size is the image's (rounded down to a multiple of 8)");
                }
                Image init = readPng(p.initImage, "--init-image");
                // diffusers' defaults: SD img2img 0.8, inpainting 1; SDXL img2img 0.3, inpainting 0.9999
                boolean xl = folder != null && Files.isDirectory(folder) && ModelIndex.load(folder).isXl();
                base = p.mask == null ? base.initImage(init, p.strength != null ? p.strength : xl ? 0.3 : 0.8)
                        : base.inpaint(init, readPng(p.mask, "--mask"), p.strength != null ? p.strength : xl ? 0.9999 : 1.0);
            }
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage(), e);
        }
        if (p.prompt == null && !demo) throw new UserException("give --prompt TEXT (the prompt grid is drawn for demo-text only)");
        long seed = g.noise.seed == null ? 0 : g.noise.seed;
        long t0 = System.nanoTime();
        Path dir = demo ? DemoText.folder() : folder;
        PipelineOptions opts = PipelineOptions.defaults().withQuant(q)
                .withCache(c == null ? CachePolicies.NONE : c.policy()).withUNetSwitch(p.unetSwitch());
        String summary;
        Path target;
        if (p.config != null && (dir == null || !Files.isRegularFile(dir))) {
            throw new UserException("--config applies to single-file checkpoints (--model file.safetensors)");
        }
        if (p.loraStrict != null && p.loras == null) throw new UserException("--lora-strict needs --lora");
        LoraSet loras = loraSet(p);
        try (StableDiffusion sd = Files.isRegularFile(dir) ? StableDiffusion.loadSingleFile(dir, p.config, opts)
                : StableDiffusion.load(dir, opts)) {
            this.loras = loras;
            if (p.prompt == null) {
                target = g.out != null ? g.out : Path.of(GenerateCommand.DEFAULT_GRID_FILE);
                if (format != GenerateCommand.Format.PNG) throw new UserException("--out " + target + ": the grid is a .png");
                summary = grid(sd, base, seed, target, err);
            } else {
                target = g.out != null ? g.out : Path.of(DEFAULT_SINGLE_FILE);
                summary = single(sd, base.seed(seed), format, target, err);
            }
        }
        if (!g.common.quiet) {
            stdout.printf(Locale.ROOT, "wrote %s (%s) in %.1f s%n", target.toAbsolutePath().normalize(), summary, (System.nanoTime() - t0) / 1e9);
            stdout.flush();
        }
        return Main.EXIT_OK;
    }

    /** {@code --lora FILE[:SCALE]}, read once. */
    static LoraSet loraSet(PromptOptions p) throws IOException {
        LoraSet set = LoraSet.none();
        if (p.loras == null) return set;
        for (String spec : p.loras) {
            String file = spec;
            double scale = 1.0;
            int colon = spec.lastIndexOf(':');
            if (colon > 0) {
                try {
                    scale = Double.parseDouble(spec.substring(colon + 1));
                    file = spec.substring(0, colon);
                } catch (NumberFormatException e) {
                    // no scale: the colon is part of the path
                }
            }
            if (!Double.isFinite(scale)) throw new UserException("--lora " + spec + ": the scale must be a finite number");
            Path f = Path.of(file);
            if (!Files.isRegularFile(f)) throw new NoSuchFileException(file, null, "(--lora)");
            set = set.with(LoraFile.load(f), scale);
        }
        return Boolean.FALSE.equals(p.loraStrict) ? set.lenient() : set;
    }

    private String name() {
        return folder == null ? DemoText.NAME : folder.toString();
    }

    /** The demo grid: one row per digit prompt, one column per seed (one generator per image), upscaled. */
    private String grid(StableDiffusion sd, TextToImage base, long seed0, Path target, PrintWriter err) throws IOException {
        int cols = DemoText.GRID_SEEDS;
        long[] seeds = new long[cols];
        for (int i = 0; i < cols; i++) seeds[i] = seed0 + i;
        ProgressBar bar = ProgressBar.create(err, g.common.quiet, DemoText.GRID_PROMPTS.size() * base.steps(), "generate");
        List<Image> cells = new ArrayList<>();
        try {
            for (String prompt : DemoText.GRID_PROMPTS) {
                TextToImage row = new TextToImage(prompt, base.negativePrompt(), base.height(), base.width(), base.steps(),
                        base.guidanceScale(), base.guidanceRescale(), base.clipSkip(), seed0, cols, base.scheduler(), null,
                        0.8, step -> {
                            bar.step();
                            return true;
                        }).seeds(seeds).promptSyntax(base.promptSyntax());
                cells.addAll(sd.generate(row, loras).images());
            }
        } finally {
            bar.finish();
        }
        int up = g.upscale == null ? DemoText.GRID_UPSCALE : g.upscale;
        Image img = Image.grid(cells, cols).upscale(up);
        PngWriter.write(img, target);
        return String.format(Locale.ROOT, "%dx%d: '%s' ... '%s' x seeds %d-%d, %s %d steps, guidance %s", img.width(), img.height(),
                DemoText.GRID_PROMPTS.get(0), DemoText.GRID_PROMPTS.get(DemoText.GRID_PROMPTS.size() - 1), seed0, seed0 + cols - 1,
                sd.samplerName(base), base.steps(), fmt(base.guidanceScale()));
    }

    private String single(StableDiffusion sd, TextToImage request, GenerateCommand.Format format, Path target, PrintWriter err)
            throws IOException {
        int total = request.initImage() == null ? request.steps() : Math.max(1, (int) (request.steps() * request.strength()));
        ProgressBar bar = ProgressBar.create(err, g.common.quiet, total, "generate");
        GeneratedImages out;
        try {
            out = sd.generate(request.onStep(step -> {
                bar.step();
                return true;
            }), loras);
        } finally {
            bar.finish();
        }
        if (format == GenerateCommand.Format.SAFETENSORS) {
            // diffusers' output_type="np" images and the final latents, for comparisons
            Map<String, Latents> tensors = new LinkedHashMap<>();
            tensors.put("image", out.pixels());
            tensors.put("final_latents", out.latents());
            TensorFile.write(target, tensors);
            return "image " + Arrays.toString(out.pixels().shape()) + ", final_latents " + Arrays.toString(out.latents().shape());
        }
        int up = g.upscale == null ? 1 : g.upscale;
        List<Path> written = new ArrayList<>();
        List<Image> images = out.images();
        for (int i = 0; i < images.size(); i++) {
            Path file = images.size() == 1 ? target : numbered(target, i);
            PngWriter.write(images.get(i).upscale(up), file);
            written.add(file);
        }
        Image first = images.get(0);
        return String.format(Locale.ROOT, "%s%dx%d, %s %d steps%s, seed %d", images.size() > 1 ? images.size() + " images "
                        + written.get(0).getFileName() + " ... " + written.get(written.size() - 1).getFileName() + ", " : "",
                first.width() * up, first.height() * up, sd.samplerName(request), request.steps(),
                request.guidanceScale() > 1 ? ", guidance " + fmt(request.guidanceScale()) : "", request.seed());
    }

    /** {@code out.png} to {@code out-i.png}. */
    static Path numbered(Path target, int i) {
        String n = target.getFileName().toString();
        int dot = n.lastIndexOf('.');
        String name = (dot > 0 ? n.substring(0, dot) : n) + "-" + i + (dot > 0 ? n.substring(dot) : "");
        return target.resolveSibling(name);
    }

    private static Image readPng(Path file, String option) throws IOException {
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString(), null, "(" + option + ")");
        try {
            return PngReader.read(file);
        } catch (IOException e) {
            throw new UserException(option + " " + e.getMessage(), e);
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
