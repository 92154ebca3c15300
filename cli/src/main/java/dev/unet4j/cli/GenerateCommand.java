package dev.unet4j.cli;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.StepCallback;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "generate", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {
                "Generates images from a prompt (Stable Diffusion pipeline folders), or images (pixel models) or latents "
                        + "with a bare UNet and a diffusion sampler.",
                "",
                "With no arguments it writes the bundled demo-text model's grid: one row per prompt 'a handwritten zero' "
                        + "... 'a handwritten nine', seeds 0-7, DDIM 25 steps, guidance 3, 32x32 upscaled 4x, to "
                        + "./unet4j-digits.png. --model demo-digits gives the class-conditional demo's grid: one row "
                        + "per class 0-9, 8 samples per row, DDIM 25 steps, guidance 1.5 with the null class 10, seed 0.",
                "A class-conditional model without --class-label gives such a grid; with --class-label, one image."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j generate",
                "  unet4j generate --prompt \"a handwritten seven\" --seed 3 --out seven.png --upscale 8",
                "  unet4j generate --model ./stable-diffusion-v1-5 --prompt \"a lighthouse at dusk\" --negative-prompt blurry \\",
                "                  --steps 25 --guidance 7.5 --num-images 2 --out lighthouse.png",
                "  unet4j generate --model ./stable-diffusion-v1-5 --prompt \"an oil painting\" --init-image in.png --strength 0.6 --out out.png",
                "  unet4j generate --model demo-digits --class-label 7 --seed 42 --out seven.png --upscale 8",
                "  unet4j generate --scheduler dpmpp-2m-karras --steps 12 --out grid.png",
                "  unet4j generate --model ./ddpm-cifar --scheduler ddim --steps 50 --seed 3 --out cat.png",
                "  unet4j generate --model ./sd-unet --conditioning prompt.safetensors --guidance 7.5 \\",
                "                  --init-noise noise.safetensors --out latents.safetensors",
                "  unet4j generate --class-label 3 --quant int8 --trajectory-out steps.safetensors --out 3.png"})
final class GenerateCommand implements Callable<Integer> {
    static final String DEFAULT_GRID_FILE = "unet4j-digits.png";
    /** Largest grid generated as one batch. */
    static final int MAX_GRID_BATCH = 256;
    /** Sampler steps (schedules have at most num_train_timesteps, 1000 for every diffusers model). */
    static final int MAX_STEPS = 10_000;
    /** Larger guidance scales only amplify the difference of two predictions into overflow (usual: 1-20). */
    static final double MAX_GUIDANCE = 100;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    PromptOptions prompt;

    @Option(names = "--model", paramLabel = "DIR",
            description = "diffusers pipeline folder (model_index.json: text-to-image with --prompt), UNet model or "
                    + "hub-cache folder, or a bundled demo: demo-text (prompt to picture) or demo-digits (class-conditional "
                    + "UNet). Default: demo-text, or demo-digits with the UNet options (--class-label, --conditioning, ...).")
    String model;

    @Option(names = "--scheduler", paramLabel = "NAME", completionCandidates = SamplerChoice.Names.class,
            description = "${COMPLETION-CANDIDATES}. Default: the model's own scheduler class (pipelines: its "
                    + "scheduler_config.json's _class_name, demo-text ddim; UNet folders: ddim when it has none or an "
                    + "unsupported one).")
    String scheduler;

    @Option(names = "--scheduler-config", paramLabel = "FILE",
            description = "scheduler_config.json to use instead of the model's (default: the model's, else diffusers' defaults).")
    Path schedulerConfig;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "25",
            description = "Inference steps. Default: ${DEFAULT-VALUE} (pipeline folders other than demo-text: 50, as diffusers).")
    int steps;

    @ArgGroup(exclusive = true)
    NoiseChoice noise = new NoiseChoice();

    static final class NoiseChoice {
        @Option(names = "--seed", paramLabel = "S",
                description = "Seed of torch's CPU generator: the same noise as diffusers with generator=manual_seed(S), "
                        + "one generator for the whole batch (the grid is one batch, classes row by row). Default: 0.")
        Long seed;

        @Option(names = "--init-noise", paramLabel = "FILE",
                description = "safetensors with initial_latents [B, C, H, W]: unit-variance noise, scaled by the sampler's "
                        + "initial sigma as diffusers does; sets the batch and size.")
        Path initNoise;
    }

    @Option(names = "--noise-from", paramLabel = "FILE",
            description = "safetensors with noise.0, noise.1, ... for the stochastic steps (DDIM eta > 0, euler-ancestral, "
                    + "churn). Default: drawn from the seed.")
    Path noiseFrom;

    @Option(names = "--conditioning", paramLabel = "FILE",
            description = "safetensors with encoder_hidden_states [B, T, D] and, for guidance, encoder_hidden_states_uncond "
                    + "(text-conditional UNets).")
    Path conditioning;

    @Option(names = "--class-label", paramLabel = "K", description = "Class to generate (class-conditional models). Default: the grid of all classes.")
    Integer classLabel;

    @Option(names = "--null-class", paramLabel = "K",
            description = "The unconditional class for guidance. Default: 10 for demo-digits, else num_class_embeds - 1.")
    Integer nullClass;

    @Option(names = "--guidance", paramLabel = "G",
            description = "Classifier-free guidance scale (<= 1: none). Default: 3 for demo-text, 7.5 for other pipelines, "
                    + "1.5 for demo-digits, otherwise none.")
    Double guidance;

    @Option(names = "--per-class", paramLabel = "N", defaultValue = "8", description = "Grid: samples per class row. Default: ${DEFAULT-VALUE}.")
    int perClass;

    @Option(names = "--eta", paramLabel = "E", description = "DDIM eta. Default: 0 (deterministic).")
    Double eta;

    @Option(names = "--sigma-min", paramLabel = "A", description = "Smallest sigma (Euler, Heun, EDM). Default: the scheduler config's, else the sampler's (EDM 0.002).")
    Double sigmaMin;

    @Option(names = "--sigma-max", paramLabel = "B", description = "Largest sigma (Euler, Heun, EDM). Default: the scheduler config's, else the sampler's (EDM 80).")
    Double sigmaMax;

    @Option(names = "--rho", paramLabel = "R", description = "EDM schedule exponent. Default: the scheduler config's, else 7.")
    Double rho;

    @Option(names = "--s-churn", paramLabel = "C", description = "Churn (euler, edm-*). Default: 0.")
    Double sChurn;

    @Option(names = "--s-min", paramLabel = "D", description = "Churn only at sigma >= D. Default: 0.")
    Double sMin;

    @Option(names = "--s-max", paramLabel = "E", description = "Churn only at sigma <= E. Default: infinity.")
    Double sMax;

    @Option(names = "--s-noise", paramLabel = "F", description = "Churn noise scale. Default: 1.")
    Double sNoise;

    @Option(names = "--cache", paramLabel = "SPEC",
            description = "Feature-cache policy: deepcache:interval=3, faster:preset=50 (encoder propagation; add ,noise=0.003 for the "
                    + "paper's prior-noise injection), freeu:..., "
                    + "tgate:gate-step=N[,sp-interval=5,fi-interval=1,warm-up=2] (T-GATE: cross-attention cached at step N, CFG dropped after), "
                    + "cfg-cache[:interval=5,t-min=-1,t-max=641,alpha-lf=1.1,alpha-hf=1.1,lf-t-min=99,lf-t-max=901,hf-t-min=-1,hf-t-max=301] "
                    + "(FasterCache CFG-Cache: unconditional half rebuilt from the conditional one with the cached frequency bias), "
                    + "forecast:order=2 (TaylorSeer forecasting, before a deepcache:/balanced: part), "
                    + "tome[:ratio=0.5,max-downsample=1,sx=2,sy=2,use-rand=true,merge-attn=true,merge-crossattn=false,merge-mlp=false] "
                    + "(ToMe token merging in the full-resolution transformer blocks; compose it last), "
                    + "auto:speedup=S or auto:max-error=E[,max-run=4][,retention=0.2] (MagCache-style: the first run per model, "
                    + "scheduler and step count computes in full and saves cache-calibration.json next to the model; later runs "
                    + "skip calls by it), a+b compositions, or none. "
                    + "Default: none.")
    String cache;

    @Option(names = "--quant", paramLabel = "SPEC", description = "Weight quantization: " + QuantSpec.VALID + ". Default: none (float32).")
    String quant;

    @Option(names = "--trajectory-out", paramLabel = "FILE", description = "Also write latents.{i} after every step and final_latents (safetensors).")
    Path trajectoryOut;

    @Option(names = "--out", paramLabel = "FILE",
            description = ".png (pixel models with 1 or 3 channels: [-1, 1] to 0..255, no inversion) or .safetensors "
                    + "(final_latents). Default: ./unet4j-digits.png for the grid, else ./unet4j-sample.png for pixel "
                    + "models and ./unet4j-sample.safetensors for latent models.")
    Path out;

    @Option(names = "--upscale", paramLabel = "K", description = "Integer nearest-neighbour upscale of PNG output. Default: 4 for the grid, else 1.")
    Integer upscale;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        common.checkThreads(err);
        Limits.range("--steps", steps, 1, MAX_STEPS);
        if (guidance != null) guidance(null); // checks the value before anything loads, for prompts and UNets alike
        TextGeneration text = TextGeneration.select(this, spec.commandLine().getParseResult());
        if (text != null) return text.run(stdout, err);
        if (upscale != null && (upscale < 1 || upscale > 64)) throw new UserException("--upscale must be 1..64, got " + upscale);
        Limits.range("--per-class", perClass, 1, MAX_GRID_BATCH); // a row is one batch of at most MAX_GRID_BATCH
        Format.of(out); // a bad extension fails before the model is loaded
        if (trajectoryOut != null) {
            if (trajectoryOut.getFileName() == null || java.nio.file.Files.isDirectory(trajectoryOut)) {
                throw new UserException("--trajectory-out " + trajectoryOut + " is a folder; give a .safetensors file name");
            }
            if (out != null && out.toAbsolutePath().normalize().equals(trajectoryOut.toAbsolutePath().normalize())) {
                throw new UserException("--trajectory-out and --out are the same file " + out + "; one would overwrite the other");
            }
        }
        QuantSpec q = LoadedModel.parseQuant(quant);
        CacheSpec c = cache == null ? null : CacheSpec.parse(cache);
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = LoadedModel.kernelsFor(q); LoadedModel m = LoadedModel.load(model, q, kernels)) {
            SchedulerConfig cfg = m.schedulerConfig(schedulerConfig);
            String name = scheduler != null ? scheduler.toLowerCase(Locale.ROOT) : Samplers.unetDefault(cfg);
            Sampler sampler = new SamplerChoice(eta, sigmaMin, sigmaMax, rho, sChurn, sMin, sMax, sNoise).create(name, cfg);
            Pipeline pipeline = Pipeline.of(m.unet, sampler).withSessionSetup(m.sessionSetup::accept);
            if (c != null && !c.isNone()) {
                pipeline = pipeline.withRunModel(c.besideModel(m.files.folder()).runModel());
            }

            Path chosen = out;
            int channels = m.unet.outChannels();
            if (chosen != null && Format.of(chosen) == Format.PNG && channels != 1 && channels != 3) {
                throw new UserException("--out " + chosen + ": PNG needs a pixel model with 1 or 3 channels, this one has "
                        + channels + " (write .safetensors)");
            }
            boolean grid = m.unet.classLabelCount() > 0 && classLabel == null && noise.initNoise == null && conditioning == null;
            String summary;
            Path target;
            if (grid) {
                target = out != null ? out : Path.of(DEFAULT_GRID_FILE);
                summary = grid(m, pipeline, name, Format.of(target), target, err);
            } else {
                target = out != null ? out : Path.of(m.unet.outChannels() == 1 || m.unet.outChannels() == 3
                        ? "unet4j-sample.png" : "unet4j-sample.safetensors");
                summary = single(m, pipeline, name, Format.of(target), target, err);
            }
            if (!common.quiet) {
                stdout.printf(Locale.ROOT, "wrote %s (%s) in %.1f s%n", target.toAbsolutePath().normalize(), summary, (System.nanoTime() - t0) / 1e9);
                stdout.flush();
            }
        }
        return Main.EXIT_OK;
    }

    // ------------------------------------------------------------------ grid of all classes

    private String grid(LoadedModel m, Pipeline pipeline, String samplerName, Format format, Path target, PrintWriter err) throws IOException {
        if (trajectoryOut != null) throw new UserException("--trajectory-out needs a single generation: give --class-label");
        if (noiseFrom != null) throw new UserException("--noise-from needs a single generation: give --class-label");
        int nul = nullClass(m);
        List<Integer> classes = new ArrayList<>();
        for (int k = 0; k < m.unet.classLabelCount(); k++) if (k != nul) classes.add(k);
        double g = guidance(m);
        long seed0 = noise.seed == null ? 0 : noise.seed;
        // One batch, one generator, classes row by row: what diffusers gives for
        // pipe(class_labels=[0]*8 + [1]*8 + ..., generator=torch.manual_seed(S)). Very large grids go in chunks of
        // whole rows, chunk i seeded with S + i.
        int rowsPerChunk = Math.max(1, MAX_GRID_BATCH / perClass);
        int[] size = m.sampleSize();
        if (size == null) throw new UserException("the model config has no sample_size; give --class-label and --init-noise");
        Limits.latents("generate (the grid)", (long) classes.size() * perClass, m.unet.inChannels(), size[0], size[1]);
        int chunks = (classes.size() + rowsPerChunk - 1) / rowsPerChunk;
        ProgressBar bar = ProgressBar.create(err, common.quiet, chunks * steps, "generate");
        List<Latents> parts = new ArrayList<>();
        try {
            for (int chunk = 0; chunk < chunks; chunk++) {
                List<Integer> rows = classes.subList(chunk * rowsPerChunk, Math.min(classes.size(), (chunk + 1) * rowsPerChunk));
                long[] labels = new long[rows.size() * perClass];
                for (int i = 0; i < labels.length; i++) labels[i] = rows.get(i / perClass);
                Generation gen = Generation.of(steps).noise(NoiseSource.seeded(seed0 + chunk), labels.length).classes(labels)
                        .onStep(progress(bar));
                if (g > 1) gen = gen.guidance(g, nul);
                parts.add(pipeline.generate(gen).latents());
            }
        } finally {
            bar.finish();
        }
        Latents all = Latents.concat(parts.toArray(Latents[]::new));
        int up = upscale == null ? 4 : upscale;
        if (format == Format.PNG) {
            Image img = Image.grid(Image.batchFromSignedUnit(all.data(), all.shape()), perClass).upscale(up);
            PngWriter.write(img, target);
            return String.format(Locale.ROOT, "%dx%d: classes %s x %d, seed %d, %s %d steps, %s", img.width(), img.height(),
                    range(classes), perClass, seed0, samplerName, steps, g > 1 ? "guidance " + g + " (null class " + nul + ")" : "no guidance");
        }
        TensorFile.write(target, TensorFile.single("final_latents", all));
        return "final_latents " + Arrays.toString(all.shape());
    }

    private static String range(List<Integer> classes) {
        return classes.size() > 2 && classes.get(classes.size() - 1) - classes.get(0) == classes.size() - 1
                ? classes.get(0) + "-" + classes.get(classes.size() - 1) : classes.toString();
    }

    // ------------------------------------------------------------------ one generation

    private String single(LoadedModel m, Pipeline pipeline, String samplerName, Format format, Path target, PrintWriter err) throws IOException {
        Latents initial = null;
        if (noise.initNoise != null) {
            try (TensorFile f = TensorFile.open(noise.initNoise, "--init-noise")) {
                f.allowOnly(List.of("initial_latents"));
                initial = f.latents("initial_latents", 4);
            }
            if (initial.shape()[1] != m.unet.inChannels()) {
                throw new UserException("--init-noise " + noise.initNoise + ": initial_latents has " + initial.shape()[1]
                        + " channels, the model takes " + m.unet.inChannels());
            }
        }
        Conditioning[] text = textConditioning(m);
        int batch = initial != null ? initial.batch() : text != null ? text[0].batchSize() : 1;
        if (initial != null && text != null && text[0].batchSize() != batch) {
            throw new UserException("--conditioning has batch " + text[0].batchSize() + " but --init-noise has " + batch);
        }
        int[] size = initial != null ? new int[] {initial.shape()[2], initial.shape()[3]} : m.sampleSize();
        if (size == null) throw new UserException("the model config has no sample_size; give --init-noise to set the size");
        Limits.range("the batch (of --init-noise or --conditioning)", batch, 1, Limits.MAX_BATCH);
        Limits.latents("generate", batch, m.unet.inChannels(), size[0], size[1]);

        Generation gen = Generation.of(steps).size(size[0], size[1]);
        gen = gen.noise(CliNoise.of(noise.seed == null ? 0 : noise.seed, initial, noiseFrom), batch);
        double g = guidance(m);
        if (m.unet.classLabelCount() > 0) {
            if (classLabel == null) throw new UserException("this model is class-conditional: give --class-label K (0.."
                    + (m.unet.classLabelCount() - 1) + ")");
            if (classLabel < 0 || classLabel >= m.unet.classLabelCount()) {
                throw new UserException("--class-label " + classLabel + " is out of range 0.." + (m.unet.classLabelCount() - 1));
            }
            long[] labels = new long[batch];
            Arrays.fill(labels, classLabel);
            gen = gen.classes(labels);
            if (g > 1) gen = gen.guidance(g, nullClass(m));
        } else if (text != null) {
            gen = gen.conditioning(text[0]);
            if (g > 1) {
                if (text[1] == null) {
                    throw new UserException("--guidance " + g + " needs encoder_hidden_states_uncond in " + conditioning);
                }
                gen = gen.guidance(g, text[1]);
            }
        } else {
            if (classLabel != null) throw new UserException("--class-label: this model has no class embedding");
            if (guidance != null && guidance > 1) throw new UserException("--guidance: this model is unconditional");
        }

        ProgressBar bar = ProgressBar.create(err, common.quiet, steps, "generate");
        Map<String, Latents> trajectory = new LinkedHashMap<>();
        StepCallback progress = progress(bar);
        gen = gen.onStep(info -> {
            if (trajectoryOut != null) trajectory.put("latents." + info.stepIndex(), info.latents().copy());
            return progress.onStep(info);
        });
        GenerationResult r;
        try {
            r = pipeline.generate(gen);
        } finally {
            bar.finish();
        }
        if (trajectoryOut != null) {
            trajectory.put("final_latents", r.latents());
            TensorFile.write(trajectoryOut, trajectory);
        }
        String how = samplerName + " " + steps + " steps" + (g > 1 ? ", guidance " + g : "");
        if (format == Format.PNG) {
            int ch = r.latents().shape()[1];
            if (ch != 1 && ch != 3) {
                throw new UserException("--out " + target + ": PNG needs a pixel model with 1 or 3 channels, this one has " + ch
                        + " (write .safetensors)");
            }
            Image img = Image.grid(Image.batchFromSignedUnit(r.latents().data(), r.latents().shape()), batch)
                    .upscale(upscale == null ? 1 : upscale);
            PngWriter.write(img, target);
            return img.width() + "x" + img.height() + ", " + how;
        }
        TensorFile.write(target, TensorFile.single("final_latents", r.latents()));
        return "final_latents " + Arrays.toString(r.latents().shape()) + ", " + how;
    }

    /** [cond, uncond-or-null] from --conditioning, or null. */
    private Conditioning[] textConditioning(LoadedModel m) throws IOException {
        int dim = m.unet.textEmbeddingDim();
        if (conditioning == null) {
            if (dim > 0) throw new UserException("this model is text-conditional: give --conditioning FILE with encoder_hidden_states [B, T, " + dim + "]");
            return null;
        }
        if (dim == 0) throw new UserException("--conditioning: this model takes no encoder_hidden_states");
        try (TensorFile f = TensorFile.open(conditioning, "--conditioning")) {
            f.allowOnly(List.of("encoder_hidden_states", "encoder_hidden_states_uncond"));
            TextConditioning cond = text(f.latents("encoder_hidden_states", 3));
            TextConditioning uncond = f.has("encoder_hidden_states_uncond") ? text(f.latents("encoder_hidden_states_uncond", 3)) : null;
            if (cond.shape()[2] != dim) {
                throw new UserException("--conditioning " + conditioning + ": encoder_hidden_states width " + cond.shape()[2]
                        + ", the model's cross_attention_dim is " + dim);
            }
            if (uncond != null && !Arrays.equals(uncond.shape(), cond.shape())) {
                throw new UserException("--conditioning " + conditioning + ": encoder_hidden_states_uncond has shape "
                        + Arrays.toString(uncond.shape()) + ", encoder_hidden_states " + Arrays.toString(cond.shape()));
            }
            return new Conditioning[] {cond, uncond};
        }
    }

    private static TextConditioning text(Latents l) {
        return new TextConditioning(l.data(), l.shape());
    }

    private double guidance(LoadedModel m) {
        if (guidance != null) {
            if (!Double.isFinite(guidance) || guidance < 0 || guidance > MAX_GUIDANCE) {
                throw new UserException("--guidance must be a number in [0, " + (int) MAX_GUIDANCE + "], got " + guidance
                        + (Double.isFinite(guidance) && guidance > MAX_GUIDANCE ? " (the latents would overflow)" : ""));
            }
            return guidance;
        }
        return m != null && m.demo ? DemoModel.GUIDANCE : 1.0;
    }

    private int nullClass(LoadedModel m) {
        int n = nullClass != null ? nullClass : m.demo ? DemoModel.NULL_CLASS : m.unet.classLabelCount() - 1;
        if (n < 0 || n >= m.unet.classLabelCount()) {
            throw new UserException("--null-class " + n + " is out of range 0.." + (m.unet.classLabelCount() - 1));
        }
        return n;
    }

    private static StepCallback progress(ProgressBar bar) {
        return info -> {
            bar.step();
            return true;
        };
    }

    /** Output kinds by file extension. */
    enum Format {
        PNG, SAFETENSORS;

        static Format of(Path p) {
            if (p == null) return null;
            if (p.getFileName() == null || java.nio.file.Files.isDirectory(p)) {
                throw new UserException("--out " + p + " is a folder; give a file name ending in .png or .safetensors");
            }
            String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
            if (n.endsWith(".png")) return PNG;
            if (n.endsWith(".safetensors")) return SAFETENSORS;
            throw new UserException("--out " + p + ": use a .png or .safetensors file name");
        }
    }
}
