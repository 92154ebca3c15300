package dev.unet4j.bench;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.pipeline.denoising.CachedDiffusionModel;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The caching table: per model, one row per policy with the UNet MACs done vs full compute, the wall-clock speedup vs
 * the full-compute generation measured in the same run, the speedup the MACs predict, and the fidelity of the final
 * sample vs full compute from the same noise (PSNR with R = max - min of the full-compute sample, and max|diff|).
 *
 * <pre>
 * CachingTable [--models digits,text,sd15] [--digits PATH] [--text PATH] [--sd-steps 25] [--sd50] [--repeat N]
 *              [--digits-policies "p1;;p2"] [--text-policies "p1;;p2"] [--sd-policies "p1;;p2"]
 * </pre>
 * Models: {@code digits} = the trained demo model (DDIM 25 steps, guidance 1.5, null class 10, one sample per digit);
 * {@code text} = the trained text-to-image demo {@code digits-text-32} (its CLIP embeddings of
 * {@code a handwritten zero..nine} and of the empty negative prompt, DDIM 25 steps, guidance 3, seeds 0-9; PSNR of the
 * VAE-decoded images, since that is what a user sees); {@code sd15} = the Stable Diffusion 1.5 UNet with seeded random
 * weights at 32x32 latents, DDIM with guidance 7.5 on random text embeddings. {@code auto:} policies without a
 * {@code file=} calibrate into a fresh temporary folder: the table's untimed first generation of each (or an explicit
 * one where the table does not warm up) is the calibration run, the timed ones follow its curve. {@code --sd50} adds 50-step DeepCache N=3 b=0, timed against 50 x the mean full-compute call
 * time of the 25-step full run (the full 50-step run itself is not repeated). {@code --repeat N} runs each generation
 * N times and keeps the least wall-clock and CPU time (the machine may be shared). {@code --paired R} measures the
 * wall-clock column as the median of R (full run, policy run) pairs timed back to back instead of against the one
 * full run at the top of the table.
 */
public final class CachingTable {
    private CachingTable() {
    }

    static final List<String> DIGITS_POLICIES = List.of(
            "deepcache:interval=2,branch=0",
            "deepcache:interval=3,branch=0",
            "deepcache:interval=3,branch=1",
            "deepcache:interval=2,branch=6",
            "deepcache:interval=3,branch=0,schedule=quad,pow=1.4,center=5",
            "faster:keys=0,1,2,3,5,8,12,16,20",
            "faster:keys=0,1,2,3,5,8,12,16,20;parallel",
            "inherit:nodes=mid_block,every=2",
            "inherit:nodes=**.attentions.*,every=2",
            "balanced:speedup=2",
            "balanced:speedup=3",
            "adaptive:threshold=0.05,warmup=2,cooldown=1,max-run=4",
            "adaptive:threshold=0.2,warmup=1,cooldown=4,max-run=4",
            "adaptive:threshold=0.2,warmup=1,cooldown=3,max-run=5",
            "skiptune:top=1.0,bottom=0.9",
            "scalelong:kappa=0.95",
            "freeu:b1=1.1,b2=1.2,s1=0.9,s2=0.9",
            "freeu:b1=1.1,b2=1.2,s1=0.9,s2=0.9+deepcache:interval=3,branch=0",
            "cfg-cache",
            "cfg-cache:interval=3",
            "cfg-cache+deepcache:interval=3,branch=0",
            "tgate:gate-step=10",
            "tgate:gate-step=15+deepcache:interval=3,branch=0",
            "forecast:order=1+deepcache:interval=3,branch=0",
            "forecast:order=2+deepcache:interval=3,branch=0",
            "forecast:order=2+adaptive:threshold=0.2,warmup=1,cooldown=3,max-run=5",
            "auto:speedup=2",
            "auto:speedup=3",
            "auto:max-error=0.1");
    /** The guidance-aware, merging, forecasting and auto-calibrated policies on the trained text demo. */
    static final List<String> TEXT_POLICIES = List.of(
            "deepcache:interval=3,branch=0",
            "cfg-cache",
            "cfg-cache:interval=3",
            "cfg-cache+deepcache:interval=3,branch=0",
            "tgate:gate-step=10",
            "tgate:gate-step=5",
            "tgate:gate-step=10+deepcache:interval=3,branch=0",
            "tome",
            "tome:merge-crossattn=true,merge-mlp=true",
            "deepcache:interval=3,branch=0+tome",
            "forecast:order=1+deepcache:interval=3,branch=0",
            "forecast:order=2+deepcache:interval=3,branch=0",
            "adaptive:threshold=0.2,warmup=1,cooldown=3,max-run=5",
            "forecast:order=2+adaptive:threshold=0.2,warmup=1,cooldown=3,max-run=5",
            "auto:speedup=2",
            "auto:speedup=3",
            "auto:max-error=0.1");
    static final List<String> SD_POLICIES = List.of("deepcache:interval=3,branch=0", "cfg-cache", "tgate:gate-step=10",
            "tgate:gate-step=10+deepcache:interval=3,branch=0", "forecast:order=2+deepcache:interval=3,branch=0");

    /**
     * One generation's setup; {@code image} is what fidelity compares: the final latents themselves
     * ({@code LATENTS}) or the pictures a VAE decodes from them.
     */
    record Setup(String name, UNetModel model, DdimSampler sampler, int steps, int[] shape, long[] seeds,
                 Conditioning uncond, Conditioning cond, double guidance, Function<Latents, float[]> image) {
    }

    /** Fidelity on the final latents. */
    static final Function<Latents, float[]> LATENTS = Latents::data;

    /** The final sample, the cache report, wall-clock and process CPU nanoseconds of the generation. */
    record Run(Latents sample, GenerationReport report, long nanos, long cpuNanos) {
    }

    /** What {@code row} measured: the wall-clock speedup (paired or against the table's full run) and the prediction. */
    record Measured(String policy, double macsFraction, double predicted, double wall, double ownFullCalls, double psnr) {
        double wallOverPredicted() {
            return wall / predicted;
        }
    }

    private static Path calibrationDir;

    /** Where {@code auto:} parts without a file calibrate: one temporary folder per process. */
    static synchronized Path calibrationDir() {
        try {
            if (calibrationDir == null) calibrationDir = Files.createTempDirectory("unet4j-cache-calibration");
            return calibrationDir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A table's policy text, {@code auto:} parts calibrating in {@code calibrationDir()}. */
    static CachePolicy policy(String text) {
        CachePolicy p = CachePolicies.parse(text);
        return AutoCalibration.calibrates(p) ? AutoCalibration.besideModel(p, calibrationDir()) : p;
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    public static void main(String[] args) throws IOException {
        List<String> models = List.of("digits", "sd15");
        Path digits = Path.of("testdata/models/digits-16");
        Path text = Path.of("testdata/models/digits-text-32");
        int sdSteps = 25;
        boolean sd50 = false;
        int repeat = 1;
        int paired = 0;
        boolean only50 = false;
        List<String> digitsPolicies = DIGITS_POLICIES, sdPolicies = SD_POLICIES, textPolicies = TEXT_POLICIES;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--models" -> models = List.of(args[++i].split(","));
                case "--digits" -> digits = Path.of(args[++i]);
                case "--text" -> text = Path.of(args[++i]);
                case "--sd-steps" -> sdSteps = Integer.parseInt(args[++i]);
                case "--sd50" -> sd50 = true;
                case "--sd50-only" -> {
                    sd50 = true;
                    only50 = true;
                }
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--paired" -> paired = Integer.parseInt(args[++i]);
                case "--digits-policies" -> digitsPolicies = List.of(args[++i].split(";;"));
                case "--sd-policies" -> sdPolicies = List.of(args[++i].split(";;"));
                case "--text-policies" -> textPolicies = List.of(args[++i].split(";;"));
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; valid: --models, --digits, --text, "
                        + "--sd-steps, --sd50, --sd50-only, --repeat, --paired, --digits-policies, --text-policies, --sd-policies");
            }
        }
        System.out.printf("load average at start: %s%n", QuantTable.loadAverage());
        try (DnnlKernels kernels = new DnnlKernels()) {
            if (models.contains("digits")) {
                try (UNetModel m = UNetModel.load(digits, LoadOptions.of(kernels))) {
                    SchedulerConfig cfg = SchedulerConfig.parse(Files.readString(digits.resolve("scheduler_config.json")));
                    long[] labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
                    long[] seeds = new long[10];
                    for (int i = 0; i < 10; i++) seeds[i] = 100 + i;
                    Setup s = new Setup("digits-16 (DDIM 25, guidance 1.5, 10 samples)", m, DdimSampler.fromConfig(cfg), 25,
                            new int[] {10, 1, 16, 16}, seeds, ClassConditioning.repeat(10, 10), new ClassConditioning(labels), 1.5, LATENTS);
                    table(s, digitsPolicies, true, false, repeat, paired);
                }
            }
            if (models.contains("text")) {
                try (StableDiffusion sd = StableDiffusion.load(text, PipelineOptions.defaults().withKernels(kernels))) {
                    table(textSetup(sd, sd.unet(), "float32"), textPolicies, true, false, repeat, paired);
                }
            }
            if (models.contains("sd15")) {
                try (UNetModel m = UNetForwardCases.Arch.SD15.build(kernels)) {
                    Setup s = sd15Setup(m, 32, sdSteps);
                    if (only50) fiftySteps(s);
                    else table(s, sdPolicies, false, sd50, repeat, paired);
                }
            }
        }
        System.out.printf("load average at end: %s%n", QuantTable.loadAverage());
    }

    /** The prompts of the text demo's rows: {@code a handwritten zero} ... {@code a handwritten nine}. */
    static final List<String> DIGIT_PROMPTS = List.of("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
            .stream().map(d -> "a handwritten " + d).toList();

    /**
     * The trained text demo ({@code digits-text-32}) running {@code unet} (the pipeline's own, or a quantized copy):
     * the ten digit prompts with the empty negative prompt, seeds 0-9, DDIM 25 (its scheduler config read as DDIM, as
     * the demo's reference samples were made), guidance 3; fidelity on the images the pipeline's VAE decodes.
     */
    static Setup textSetup(StableDiffusion sd, UNetModel unet, String label) {
        Conditioning cond = null, uncond = null;
        TextConditioning empty = sd.promptEncoder().encode("", 0);
        for (String p : DIGIT_PROMPTS) {
            TextConditioning c = sd.promptEncoder().encode(p, 0);
            cond = cond == null ? c : cond.concat(c);
            uncond = uncond == null ? empty : uncond.concat(empty);
        }
        long[] seeds = new long[DIGIT_PROMPTS.size()];
        for (int i = 0; i < seeds.length; i++) seeds[i] = i;
        int latent = sd.defaultSize() / sd.vae().scaleFactor();
        return new Setup("digits-text-32 " + label + " (DDIM 25, guidance 3, 10 prompts; PSNR of the decoded images)", unet,
                DdimSampler.fromConfig(sd.schedulerConfig()), 25, new int[] {seeds.length, unet.inChannels(), latent, latent}, seeds,
                uncond, cond, 3.0, sd::decode);
    }

    /**
     * The Stable Diffusion 1.5 UNet {@code m} (seeded random weights) at {@code size}x{@code size} latents, one image
     * with classifier-free guidance 7.5 (a batch-2 UNet call) on seeded random text embeddings, DDIM {@code steps}.
     */
    static Setup sd15Setup(UNetModel m, int size, int steps) {
        SchedulerConfig cfg = SchedulerConfig.parse("""
                {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false,
                 "steps_offset": 1, "num_train_timesteps": 1000, "prediction_type": "epsilon"}""");
        TorchGenerator g = new TorchGenerator(7);
        Latents u = Latents.randn(g, 1, 77, 768), c = Latents.randn(g, 1, 77, 768);
        return new Setup("SD 1.5 UNet, random weights, " + size + "x" + size + " latents (DDIM " + steps + ", guidance 7.5)", m,
                DdimSampler.fromConfig(cfg), steps, new int[] {1, 4, size, size}, new long[] {5},
                new TextConditioning(u.data(), new int[] {1, 77, 768}), new TextConditioning(c.data(), new int[] {1, 77, 768}), 7.5, LATENTS);
    }

    /** The generation {@code repeat} times: the last sample and report, the least wall-clock and CPU time. */
    static Run best(Setup s, UNetSession session, CachePolicy policy, int steps, int repeat) {
        Run best = null;
        for (int i = 0; i < repeat; i++) {
            Run r = generate(s, session, policy, steps);
            best = best == null ? r : new Run(r.sample(), r.report(), Math.min(best.nanos(), r.nanos()), Math.min(best.cpuNanos(), r.cpuNanos()));
        }
        return best;
    }

    /** Prints the table of {@code policies} on {@code s}; returns what each row measured. */
    static List<Measured> table(Setup s, List<String> policies, boolean warmup, boolean sd50, int repeat, int paired) {
        System.out.println();
        System.out.println("## " + s.name() + " (load average " + QuantTable.loadAverage() + ")");
        System.out.println();
        System.out.println("| policy | UNet MACs vs full | predicted speedup | wall-clock speedup | wall / predicted | wall vs own full calls | own / predicted | CPU-time speedup | PSNR dB | max abs diff | peak cache MB |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        List<Measured> out = new ArrayList<>();
        try (UNetSession session = s.model().newSession()) {
            // warm-up: the kernels' primitives for every shape of a full call, and (on the small model, where a generation
            // is ~0.1 s) one untimed generation per policy, so the JIT has compiled the caching paths before the first
            // timed row (the first policy measured ~10% low without it); that generation is also an auto: policy's
            // calibration run
            if (warmup) {
                generate(s, session, CachePolicies.NONE, s.steps());
                for (String p : policies) generate(s, session, policy(p), s.steps());
            } else {
                warmUp(s, session);
                for (String p : policies) if (AutoCalibration.calibrates(policy(p))) generate(s, session, policy(p), s.steps());
            }
            Run full = best(s, session, CachePolicies.NONE, s.steps(), repeat);
            row(s, "none (full compute)", full, full, Double.NaN);
            for (String p : policies) {
                CachePolicy policy = policy(p);
                Run r = best(s, session, policy, s.steps(), repeat);
                out.add(row(s, p, r, full, paired > 0 ? pairedSpeedup(s, session, s, session, policy, paired) : Double.NaN));
            }
            if (sd50) fiftySteps(s, session);
        }
        return out;
    }

    /**
     * The median over {@code rounds} of (full-compute generation time / policy generation time), each policy
     * generation timed back to back with its own full-compute generation: the "wall-clock speedup vs full
     * compute measured in the same run", robust to the drift of a shared machine between a table's first and last
     * rows. The order within a pair alternates (full first on even rounds), so neither side always runs second. The
     * full-compute side is {@code ref} (the same setup, or the float32 model a quantized {@code s} is compared with).
     */
    static double pairedSpeedup(Setup ref, UNetSession refSession, Setup s, UNetSession session, CachePolicy policy, int rounds) {
        double[] ratio = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            long full, cached;
            if (i % 2 == 0) {
                full = generate(ref, refSession, CachePolicies.NONE, ref.steps()).nanos();
                cached = generate(s, session, policy, s.steps()).nanos();
            } else {
                cached = generate(s, session, policy, s.steps()).nanos();
                full = generate(ref, refSession, CachePolicies.NONE, ref.steps()).nanos();
            }
            ratio[i] = (double) full / cached;
        }
        Arrays.sort(ratio);
        return rounds % 2 == 1 ? ratio[rounds / 2] : (ratio[rounds / 2 - 1] + ratio[rounds / 2]) / 2;
    }

    static void fiftySteps(Setup s) {
        try (UNetSession session = s.model().newSession()) {
            warmUp(s, session);
            fiftySteps(s, session);
        }
    }

    /**
     * 50-step DeepCache N=3 b=0, its wall-clock compared with 50 x the mean wall-clock of its own full calls (the
     * 17 calls 0, 3, ..., 48 run the whole UNet), so no separate 50-step full-compute run is needed.
     */
    static void fiftySteps(Setup s, UNetSession session) {
        CachePolicy dc = CachePolicies.parse("deepcache:interval=3,branch=0");
        Run r = generate(s, session, dc, 50);
        GenerationReport rep = r.report();
        double wall = ownFullCallSpeedup(rep);
        System.out.printf("| %s, 50 steps | %.1f%% | %.2fx | - | - | %.2fx | %.0f%% | - | - | - | %.1f |%n",
                dc.spec(), 100.0 * rep.macsDone() / rep.fullMacs(), rep.predictedSpeedup(), wall,
                100 * wall / rep.predictedSpeedup(), rep.peakBytes() / 1e6);
    }

    /** A one-call generation: primitives for the full-call shapes without the cost of a whole run. */
    static void warmUp(Setup s, UNetSession session) {
        generate(s, session, CachePolicies.NONE, 1);
    }

    /** One table row: {@code r} against {@code full}, fidelity on what {@code s} compares (latents or decoded images). */
    static Measured row(Setup s, String name, Run r, Run full, double paired) {
        GenerationReport rep = r.report();
        float[] a = s.image().apply(full.sample()), b = s.image().apply(r.sample());
        double psnr = QuantTable.psnrDb(a, b), maxAbs = 0;
        for (int i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs((double) a[i] - b[i]));
        double wall = Double.isNaN(paired) ? (double) full.nanos() / r.nanos() : paired;
        double predicted = rep.predictedSpeedup();
        double cpu = (double) full.cpuNanos() / r.cpuNanos();
        double own = ownFullCallSpeedup(rep);
        double macs = (double) rep.macsDone() / rep.fullMacs();
        System.out.printf("| %s | %.1f%% | %.2fx | %.2fx | %.0f%% | %.2fx | %.0f%% | %.2fx | %s | %.2e | %.1f |%n", name,
                100 * macs, predicted, wall, 100 * wall / predicted, own, 100 * own / predicted, cpu,
                Double.isInfinite(psnr) ? "inf (exact)" : String.format("%.1f", psnr), maxAbs, rep.peakBytes() / 1e6);
        return new Measured(name, macs, predicted, wall, own, psnr);
    }

    /**
     * Calls x the mean wall-clock of this generation's own full-compute calls (those that computed every MAC), over
     * the generation's UNet time: a speedup measured within one run, so a shared machine's load mostly cancels.
     */
    static double ownFullCallSpeedup(GenerationReport rep) {
        double full = rep.calls().stream().filter(c -> c.macsDone() == c.fullMacs()).mapToLong(c -> c.nanos()).average().orElse(Double.NaN);
        return rep.calls().size() * full / rep.nanos();
    }

    static Run generate(Setup s, UNetSession session, CachePolicy policy, int steps) {
        long[] ts = s.sampler().timesteps(steps);
        double[] callTs = Arrays.stream(ts).asDoubleStream().toArray();
        try (CacheSession cache = CacheSession.open(session, policy, GenerationInfo.withTimesteps(callTs))) {
            CachedDiffusionModel m = new CachedDiffusionModel(cache);
            SamplingRequest req = SamplingRequest.of(steps, s.shape(), NoiseSource.perItem(s.seeds()));
            String label = policy.spec();
            if (s.model().parameterCount() > 100_000_000L) {           // progress for long runs; none in a tiny model's timing
                req = req.withCallback(info -> {
                    System.err.printf("  %s step %d/%d%n", label, info.stepIndex() + 1, info.totalSteps());
                    return true;
                });
            }
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            Latents out = s.sampler().sample(Guidance.classifierFree(m, s.uncond(), s.cond(), s.guidance(), 0), req);
            long nanos = System.nanoTime() - t0;
            long cpu = processCpuNanos() - c0;
            return new Run(out, cache.report(), nanos, cpu);
        }
    }
}
