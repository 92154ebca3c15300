package dev.unet4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.CallReport;
import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.GenerationResult;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.UNetSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "bench", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Times one UNet forward (median and min over --iterations after warm-up) and, with --steps, whole "
                + "generations, for the plain model and each given cache policy and quantization, in one run. Inputs are "
                + "seeded random tensors of the model's shapes (text-conditional models: 77 tokens).",
                "",
                "For each policy: macs_ratio = MACs computed / MACs of the plain model (over the generation with --steps, "
                        + "else over the timed forward calls), and psnr_db_vs_full = "
                        + "10 log10(R^2 / MSE) against the plain model's final sample (the forward output without --steps), "
                        + "R = its max - min."},
        footerHeading = "%nExamples:%n",
        footer = {"  unet4j bench", "  unet4j bench --model ./unet --batch 2 --size 64x64 --iterations 10",
                "  unet4j bench --steps 25 --quant int8 --quant fp8-e4m3 --quant dr:4 --json"})
final class BenchCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ModelOption model;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "Batch size of the UNet call. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--size", paramLabel = "HxW", description = "UNet sample size, HxW or one number. Default: the config's sample_size.")
    String size;

    @Option(names = "--inputs", paramLabel = "IN",
            description = "Time the forward on these tensors (forward's --inputs names) instead of seeded random ones; "
                    + "sets the batch and size.")
    java.nio.file.Path inputs;

    @Option(names = "--steps", paramLabel = "N", description = "Also time whole generations of N steps. Default: forward only.")
    Integer steps;

    @Option(names = "--scheduler", paramLabel = "NAME", description = "Sampler for --steps. Default: the model's own scheduler class.")
    String scheduler;

    @Option(names = "--guidance", paramLabel = "G",
            description = "Guidance for --steps (doubles the UNet batch). Default: 1.5 for demo-digits, otherwise none.")
    Double guidance;

    @Option(names = "--cache", paramLabel = "SPEC",
            description = "A cache policy to compare (e.g. deepcache:interval=3); repeatable. Forward timings run the calls "
                    + "as one generation at a fixed timestep, so they average the policy's full and cached calls.")
    List<String> caches = new ArrayList<>();

    @Option(names = "--quant", paramLabel = "SPEC", description = "A quantization to compare (" + QuantSpec.VALID + "); repeatable.")
    List<String> quants = new ArrayList<>();

    @Option(names = "--iterations", paramLabel = "K", defaultValue = "5", description = "Timed forward calls per configuration. Default: ${DEFAULT-VALUE}.")
    int iterations;

    @Option(names = "--warmup", paramLabel = "W", defaultValue = "2", description = "Untimed forward calls first. Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--generations", paramLabel = "K", defaultValue = "3",
            description = "Timed generations per configuration with --steps (after one untimed). Default: ${DEFAULT-VALUE}.")
    int generations;

    @Option(names = "--json", description = "JSON Lines on stdout: one compact object per configuration, plain first.")
    boolean json;

    /** One measured configuration. */
    record Result(String config, double forwardMedian, double forwardMin, double generationMedian, double generationMin,
                  long forwardMacs, long generationMacs, double macsRatio, Double psnr, Double mse, float[] finalSample) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        common.checkThreads(err);
        Limits.range("--batch", batch, 1, Limits.MAX_BATCH);
        Limits.range("--iterations", iterations, 1, Limits.MAX_REPEATS);
        Limits.range("--warmup", warmup, 0, Limits.MAX_REPEATS);
        Limits.range("--generations", generations, 1, Limits.MAX_REPEATS);
        if (steps != null) Limits.range("--steps", steps, 1, GenerateCommand.MAX_STEPS);
        List<CacheSpec> cacheSpecs = caches.stream().map(CacheSpec::parse).toList();
        List<QuantSpec> quantSpecs = quants.stream().map(LoadedModel::parseQuant).toList();
        if (ZooForward.isZooModel(model.folder)) {
            if (!cacheSpecs.isEmpty() || steps != null || inputs != null) {
                throw new UserException("--cache, --steps and --inputs apply to diffusion UNets, not to " + model.folder);
            }
            return ZooCommands.bench(out, json, model.folder, size, batch, quantSpecs, iterations, warmup);
        }

        List<Result> results = new ArrayList<>();
        try (DnnlKernels kernels = new DnnlKernels()) {
            compute.put("plain", "f32");
            Result plain;
            int[] hw;
            try (LoadedModel m = LoadedModel.load(model.folder, null, kernels)) {
                hw = size(m);
                plain = measure("plain", m, null, hw, null, 0);
                emit(out, plain, hw);
                results.add(plain);
                for (CacheSpec c : cacheSpecs) {
                    Result r = measure(c.label(), m, c, hw, plain, 0);
                    emit(out, r, hw);
                    results.add(r);
                }
            }
            for (QuantSpec q : quantSpecs) {
                // bf16 computes on its own kernels; the other rows share the exact float32 ones
                boolean own = !q.kernelOptions().equals(kernels.options());
                try (DnnlKernels rowKernels = own ? LoadedModel.kernelsFor(q) : null;
                     LoadedModel m = LoadedModel.load(model.folder, q, own ? rowKernels : kernels)) {
                    compute.put("quant " + q.text(), computeOf(q, own ? rowKernels : kernels));
                    Result r = measure("quant " + q.text(), m, null, hw, plain, 0);
                    emit(out, r, hw);
                    results.add(r);
                }
            }
            if (!json) table(out, results, hw);
        }
        out.flush();
        return Main.EXIT_OK;
    }

    private int[] size(LoadedModel m) throws IOException {
        if (inputs != null) {
            if (size != null || batch != 1) throw new UserException("--inputs sets the batch and size; drop --batch/--size");
            try (TensorFile f = TensorFile.open(inputs, "--inputs")) {
                long[] s = f.info("sample").shape();
                if (s.length != 4) throw new UserException("--inputs " + inputs + ": sample must be [B, C, H, W]");
                Limits.range("--inputs " + inputs + ": sample batch", s[0], 1, Limits.MAX_BATCH);
                Limits.latents("--inputs " + inputs, s[0], s[1], s[2], s[3]);
                batch = (int) s[0];
                return new int[] {(int) s[2], (int) s[3]};
            }
        }
        if (size == null) {
            int[] s = m.sampleSize();
            if (s == null) throw new UserException("the model config has no sample_size: give --size HxW");
            Limits.latents("sample_size of " + model.folder, batch, m.unet.inChannels(), s[0], s[1]);
            return s;
        }
        String[] p = size.toLowerCase(Locale.ROOT).split("x");
        try {
            int h = Integer.parseInt(p[0].strip());
            int w = p.length == 2 ? Integer.parseInt(p[1].strip()) : h;
            if (p.length > 2 || h < 1 || w < 1) throw new NumberFormatException();
            Limits.latents("--size " + size, batch, m.unet.inChannels(), h, w);
            return new int[] {h, w};
        } catch (NumberFormatException e) {
            throw new UserException("--size " + size + ": expected HxW (e.g. 64x64) or one number");
        }
    }

    private Result measure(String label, LoadedModel m, CacheSpec cache, int[] hw, Result plain, long seed) throws IOException {
        double[] fwd = new double[iterations];
        long done = 0;
        float[] lastOutput;
        // with a cache policy the calls are one generation of warmup + iterations calls at the same timestep
        double[] timesteps = new double[warmup + iterations];
        java.util.Arrays.fill(timesteps, BenchInputs.TIMESTEP);
        try (UNetSession s = m.newSession(); BenchInputs in = inputs != null ? BenchInputs.fromFile(inputs) : BenchInputs.random(m, batch, hw[0], hw[1], seed);
             CacheSession cached = cache == null || cache.isNone() ? null : cache.open(s, timesteps)) {
            for (int i = 0; i < warmup; i++) {
                // warm-up: primitive creation, pool growth
                (cached == null ? s.forward(in.inputs()) : cached.call(i, in.inputs())).close();
            }
            float[] outData = null;
            for (int i = 0; i < iterations; i++) {
                long t0 = System.nanoTime();
                try (Tensor o = cached == null ? s.forward(in.inputs()) : cached.call(warmup + i, in.inputs())) {
                    fwd[i] = (System.nanoTime() - t0) / 1e6;
                    if (i == iterations - 1) outData = o.toFloatArray();
                }
                if (cached == null) done += s.lastTrace().macsDone();
            }
            if (cached != null) {
                List<CallReport> calls = cached.report().calls();
                for (CallReport r : calls.subList(warmup, calls.size())) done += r.macsDone();
            }
            lastOutput = outData;
        }
        if (steps == null) {
            double ratio = plain == null ? 1.0 : (double) done / plain.forwardMacs();
            return withFidelity(new Result(label, median(fwd), min(fwd), Double.NaN, Double.NaN, done, 0, ratio, null, null,
                    lastOutput), plain);
        }
        double[] gen = new double[generations];
        GenerationResult last = null;
        Pipeline p = pipeline(m, cache);
        Generation g = generation(m, hw, seed);
        p.generate(g); // warm-up: the guided batch has other shapes than the forward calls
        for (int i = 0; i < generations; i++) {
            last = p.generate(g);
            gen[i] = last.nanos() / 1e6;
        }
        double ratio = plain == null ? 1.0 : (double) last.macsDone() / plain.generationMacs();
        return withFidelity(new Result(label, median(fwd), min(fwd), median(gen), min(gen), done, last.macsDone(), ratio, null,
                null, last.latents().data()), plain);
    }

    private Pipeline pipeline(LoadedModel m, CacheSpec cache) {
        SchedulerConfig cfg = m.schedulerConfig(null);
        String name = scheduler != null ? scheduler.toLowerCase(Locale.ROOT) : Samplers.unetDefault(cfg);
        Sampler sampler = SamplerChoice.DEFAULTS.create(name, cfg);
        Pipeline p = Pipeline.of(m.unet, sampler).withSessionSetup(m.sessionSetup::accept);
        return cache != null && !cache.isNone() ? p.withRunModel(cache.runModel()) : p;
    }

    private Generation generation(LoadedModel m, int[] hw, long seed) {
        long[] seeds = new long[batch];
        for (int i = 0; i < batch; i++) seeds[i] = seed + i;
        Generation g = Generation.of(steps).size(hw[0], hw[1]).seeds(seeds);
        double scale = guidance != null ? guidance : m.demo ? DemoModel.GUIDANCE : 1.0;
        if (m.unet.classLabelCount() > 0) {
            int classes = m.demo ? DemoModel.NULL_CLASS : m.unet.classLabelCount() - 1;
            long[] labels = new long[batch];
            for (int i = 0; i < batch; i++) labels[i] = i % Math.max(1, classes);
            g = g.classes(labels);
            if (scale > 1) g = g.guidance(scale, m.demo ? DemoModel.NULL_CLASS : m.unet.classLabelCount() - 1);
        } else if (m.unet.textEmbeddingDim() > 0) {
            int dim = m.unet.textEmbeddingDim();
            TorchGenerator r = new TorchGenerator(seed + 1000);
            int[] shape = {batch, BenchInputs.TOKENS, dim};
            g = g.conditioning(new TextConditioning(r.randn(batch * BenchInputs.TOKENS * dim), shape));
            if (scale > 1) g = g.guidance(scale, new TextConditioning(r.randn(batch * BenchInputs.TOKENS * dim), shape));
        } else if (guidance != null && guidance > 1) {
            throw new UserException("--guidance: this model is unconditional");
        }
        return g;
    }

    /** Adds PSNR / MSE against the plain configuration's final sample. */
    private static Result withFidelity(Result r, Result plain) {
        if (plain == null || r.finalSample() == null || plain.finalSample() == null) return r;
        float[] f = plain.finalSample(), x = r.finalSample();
        double mse = 0, lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < f.length; i++) {
            double d = (double) x[i] - f[i];
            mse += d * d;
            lo = Math.min(lo, f[i]);
            hi = Math.max(hi, f[i]);
        }
        mse /= f.length;
        Double psnr = mse == 0 ? null : 10 * Math.log10((hi - lo) * (hi - lo) / mse);
        return new Result(r.config(), r.forwardMedian(), r.forwardMin(), r.generationMedian(), r.generationMin(), r.forwardMacs(),
                r.generationMacs(), r.macsRatio(), psnr, mse, r.finalSample());
    }

    /** What a row computes in on this CPU: never a bf16 or int8 label for a run that fell back to float32. */
    private static String computeOf(QuantSpec q, DnnlKernels k) {
        if (q.scheme() == QuantSpec.Scheme.BF16) return CpuFeatures.computeLabel(k);
        if (q.scheme() == QuantSpec.Scheme.INT8_W8A8) {
            return CpuFeatures.hasInt8DotProduct() ? "int8 (" + CpuFeatures.isa() + ")" : "f32 on int8-quantized operands (no VNNI/AMX on " + CpuFeatures.isa() + ")";
        }
        return q.quantized() ? "f32 on decoded weights" : "f32";
    }

    private final java.util.Map<String, String> compute = new java.util.HashMap<>();

    private void emit(PrintWriter out, Result r, int[] hw) throws IOException {
        if (!json) return;
        ObjectNode o = JSON.createObjectNode();
        o.put("config", r.config());
        o.put("compute", compute.getOrDefault(r.config(), "f32"));
        o.put("isa", CpuFeatures.isa());
        o.put("model", model.folder);
        o.put("batch", batch);
        o.put("size", hw[0] + "x" + hw[1]);
        o.put("threads", threads());
        o.put("iterations", iterations);
        o.put("forward_ms_median", round(r.forwardMedian()));
        o.put("forward_ms_min", round(r.forwardMin()));
        if (steps != null) {
            o.put("steps", steps);
            o.put("generation_ms_median", round(r.generationMedian()));
            o.put("generation_ms_min", round(r.generationMin()));
        }
        if (Double.isNaN(r.macsRatio())) o.putNull("macs_ratio");
        else o.put("macs_ratio", round(r.macsRatio()));
        if (!r.config().equals("plain")) {
            if (r.psnr() == null) o.putNull("psnr_db_vs_full");
            else o.put("psnr_db_vs_full", round(r.psnr()));
            o.put("mse_vs_full", r.mse());
            o.put("fidelity_on", steps != null ? "final sample" : "forward output");
        }
        out.println(JSON.writeValueAsString(o));
        out.flush();
    }

    private void table(PrintWriter out, List<Result> results, int[] hw) {
        out.printf(Locale.ROOT, "%s, batch %d, %dx%d, %d threads, %d iterations%s, oneDNN ISA %s%n", model.folder, batch, hw[0], hw[1], threads(), iterations,
                steps == null ? "" : ", generations of " + steps + " steps", CpuFeatures.isa());
        out.printf(Locale.ROOT, "%-24s %12s %12s %14s %10s %10s  %s%n", "config", "fwd median", "fwd min",
                steps == null ? "" : "gen median", "MACs", "PSNR dB", "compute");
        for (Result r : results) {
            out.printf(Locale.ROOT, "%-24s %9.2f ms %9.2f ms %14s %10s %10s  %s%n", r.config(), r.forwardMedian(), r.forwardMin(),
                    steps == null ? "" : String.format(Locale.ROOT, "%.1f ms", r.generationMedian()),
                    Double.isNaN(r.macsRatio()) ? "?" : String.format(Locale.ROOT, "%.3f", r.macsRatio()),
                    r.config().equals("plain") ? "-" : r.psnr() == null ? "identical" : String.format(Locale.ROOT, "%.2f", r.psnr()),
                    compute.getOrDefault(r.config(), "f32"));
        }
    }

    private static int threads() {
        String omp = System.getenv("OMP_NUM_THREADS");
        try {
            if (omp != null) return Integer.parseInt(omp.strip());
        } catch (NumberFormatException ignored) {
            // fall through to the core count, which OpenMP uses for an unparsable value too
        }
        return Runtime.getRuntime().availableProcessors();
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double round(double v) {
        return Math.round(v * 1e4) / 1e4;
    }
}
