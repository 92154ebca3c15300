package dev.unet4j.bench;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
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

/**
 * The caching table: per model, one row per policy with the UNet MACs done vs full compute, the wall-clock speedup vs
 * the full-compute generation measured in the same run, the speedup the MACs predict, and the fidelity of the final
 * sample vs full compute from the same noise (PSNR with R = max - min of the full-compute sample, and max|diff|).
 *
 * <pre>
 * CachingTable [--models digits,sd15] [--digits PATH] [--sd-steps 25] [--sd50] [--repeat N]
 *              [--digits-policies "p1;;p2"] [--sd-policies "p1;;p2"]
 * </pre>
 * Models: {@code digits} = the trained demo model (DDIM 25 steps, guidance 1.5, null class 10, one sample per digit);
 * {@code sd15} = the Stable Diffusion 1.5 UNet with seeded random weights at 32x32 latents, DDIM with guidance 7.5 on
 * random text embeddings. {@code --sd50} adds 50-step DeepCache N=3 b=0, timed against 50 x the mean full-compute call
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
            "forecast:order=2+deepcache:interval=3,branch=0");
    static final List<String> SD_POLICIES = List.of("deepcache:interval=3,branch=0", "cfg-cache", "tgate:gate-step=10",
            "tgate:gate-step=10+deepcache:interval=3,branch=0", "forecast:order=2+deepcache:interval=3,branch=0");

    /** One generation's setup. */
    record Setup(String name, UNetModel model, DdimSampler sampler, int steps, int[] shape, long[] seeds,
                 Conditioning uncond, Conditioning cond, double guidance) {
    }

    /** The final sample, the cache report, wall-clock and process CPU nanoseconds of the generation. */
    record Run(Latents sample, GenerationReport report, long nanos, long cpuNanos) {
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getProcessCpuTime() : -1;
    }

    public static void main(String[] args) throws IOException {
        List<String> models = List.of("digits", "sd15");
        Path digits = Path.of("testdata/models/digits-16");
        int sdSteps = 25;
        boolean sd50 = false;
        int repeat = 1;
        int paired = 0;
        boolean only50 = false;
        List<String> digitsPolicies = DIGITS_POLICIES, sdPolicies = SD_POLICIES;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--models" -> models = List.of(args[++i].split(","));
                case "--digits" -> digits = Path.of(args[++i]);
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
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; valid: --models, --digits, --sd-steps, --sd50, --sd50-only, --repeat, --paired, --digits-policies, --sd-policies");
            }
        }
        try (DnnlKernels kernels = new DnnlKernels()) {
            if (models.contains("digits")) {
                try (UNetModel m = UNetModel.load(digits, LoadOptions.of(kernels))) {
                    SchedulerConfig cfg = SchedulerConfig.parse(Files.readString(digits.resolve("scheduler_config.json")));
                    long[] labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
                    long[] seeds = new long[10];
                    for (int i = 0; i < 10; i++) seeds[i] = 100 + i;
                    Setup s = new Setup("digits-16 (DDIM 25, guidance 1.5, 10 samples)", m, DdimSampler.fromConfig(cfg), 25,
                            new int[] {10, 1, 16, 16}, seeds, ClassConditioning.repeat(10, 10), new ClassConditioning(labels), 1.5);
                    table(s, digitsPolicies, true, false, repeat, paired);
                }
            }
            if (models.contains("sd15")) {
                try (UNetModel m = UNetForwardCases.Arch.SD15.build(kernels)) {
                    SchedulerConfig cfg = SchedulerConfig.parse("""
                            {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                             "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false,
                             "steps_offset": 1, "num_train_timesteps": 1000, "prediction_type": "epsilon"}""");
                    TorchGenerator g = new TorchGenerator(7);
                    Latents u = Latents.randn(g, 1, 77, 768), c = Latents.randn(g, 1, 77, 768);
                    Setup s = new Setup("SD 1.5 UNet, random weights, 32x32 latents (DDIM " + sdSteps + ", guidance 7.5)", m,
                            DdimSampler.fromConfig(cfg), sdSteps, new int[] {1, 4, 32, 32}, new long[] {5},
                            new TextConditioning(u.data(), new int[] {1, 77, 768}), new TextConditioning(c.data(), new int[] {1, 77, 768}), 7.5);
                    if (only50) fiftySteps(s);
                    else table(s, sdPolicies, false, sd50, repeat, paired);
                }
            }
        }
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

    static void table(Setup s, List<String> policies, boolean warmup, boolean sd50, int repeat, int paired) {
        System.out.println();
        System.out.println("## " + s.name());
        System.out.println();
        System.out.println("| policy | UNet MACs vs full | predicted speedup | wall-clock speedup | wall / predicted | wall vs own full calls | own / predicted | CPU-time speedup | PSNR dB | max abs diff | peak cache MB |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        try (UNetSession session = s.model().newSession()) {
            // warm-up: the kernels' primitives for every shape of a full call, and (on the small model, where a generation
            // is ~0.1 s) one untimed generation per policy, so the JIT has compiled the caching paths before the first
            // timed row (the first policy measured ~10% low without it)
            if (warmup) {
                generate(s, session, CachePolicies.NONE, s.steps());
                for (String p : policies) generate(s, session, CachePolicies.parse(p), s.steps());
            } else {
                warmUp(s, session);
            }
            Run full = best(s, session, CachePolicies.NONE, s.steps(), repeat);
            row("none (full compute)", full, full, s.steps(), s.steps(), Double.NaN);
            for (String p : policies) {
                CachePolicy policy = CachePolicies.parse(p);
                Run r = best(s, session, policy, s.steps(), repeat);
                row(p, r, full, s.steps(), s.steps(), paired > 0 ? pairedSpeedup(s, session, policy, paired) : Double.NaN);
            }
            if (sd50) fiftySteps(s, session);
        }
    }

    /**
     * The median over {@code rounds} of (full-compute generation time / policy generation time), each policy
     * generation timed back to back with its own full-compute generation: the "wall-clock speedup vs full
     * compute measured in the same run", robust to the drift of a shared machine between a table's first and last
     * rows. The order within a pair alternates (full first on even rounds), so neither side always runs second.
     */
    static double pairedSpeedup(Setup s, UNetSession session, CachePolicy policy, int rounds) {
        double[] ratio = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            long full, cached;
            if (i % 2 == 0) {
                full = generate(s, session, CachePolicies.NONE, s.steps()).nanos();
                cached = generate(s, session, policy, s.steps()).nanos();
            } else {
                cached = generate(s, session, policy, s.steps()).nanos();
                full = generate(s, session, CachePolicies.NONE, s.steps()).nanos();
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

    static void row(String name, Run r, Run full, int steps, int fullSteps, double paired) {
        GenerationReport rep = r.report();
        float[] a = full.sample().data(), b = r.sample().data();
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, se = 0, maxAbs = 0;
        for (int i = 0; i < a.length; i++) {
            min = Math.min(min, a[i]);
            max = Math.max(max, a[i]);
            double d = a[i] - b[i];
            se += d * d;
            maxAbs = Math.max(maxAbs, Math.abs(d));
        }
        double mse = se / a.length;
        double psnr = mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10((max - min) * (max - min) / mse);
        double wall = Double.isNaN(paired) ? (double) full.nanos() / r.nanos() : paired;
        double predicted = rep.predictedSpeedup();
        double cpu = (double) full.cpuNanos() / r.cpuNanos();
        double own = ownFullCallSpeedup(rep);
        System.out.printf("| %s | %.1f%% | %.2fx | %.2fx | %.0f%% | %.2fx | %.0f%% | %.2fx | %s | %.2e | %.1f |%n", name,
                100.0 * rep.macsDone() / rep.fullMacs(), predicted, wall, 100 * wall / predicted, own, 100 * own / predicted, cpu,
                Double.isInfinite(psnr) ? "inf (exact)" : String.format("%.1f", psnr), maxAbs, rep.peakBytes() / 1e6);
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
