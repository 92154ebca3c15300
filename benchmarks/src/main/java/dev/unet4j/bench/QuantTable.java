package dev.unet4j.bench;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.denoising.UNetDenoiser;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.activation.ActivationScheme;
import dev.unet4j.quantization.activation.CalibratingInterceptor;
import dev.unet4j.quantization.activation.CalibrationContext;
import dev.unet4j.quantization.activation.Calibrator;
import dev.unet4j.quantization.mixed.LayerSensitivity;
import dev.unet4j.quantization.nn.CalibratingLayerFactory;
import dev.unet4j.quantization.nn.Int8Activations;
import dev.unet4j.quantization.nn.QuantizedUNets;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.nn.WeightFootprint;
import dev.unet4j.quantization.nn.WeightSource;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The quantization table: per scheme ({@link QuantSpec} names), the resident conv/linear weight bytes vs float32,
 * the median per-layer weight SQNR, one UNet call's error vs float32, the PSNR of a full sampling run's final
 * sample vs float32 from the same noise, and the UNet step time vs float32, timed in interleaved rounds so every
 * configuration sees the same machine load.
 *
 * <p>Models: {@code digits} = the trained demo model (its scheduler config, DDIM 25 steps, guidance 1.5 with null
 * class 10, one sample per digit: a CFG batch of 20 at 16x16); {@code sd15} = the Stable Diffusion 1.5 UNet with
 * seeded random weights ({@link UNetForwardCases.Arch#SD15}), 32x32 latents, batch 2; float32 stays loaded and each
 * other scheme is loaded in turn (memory), timed alternately with float32; {@code --sd-steps N} adds an N-step DDIM
 * run (guidance 7.5) for PSNR.
 *
 * <p>Run: {@code java -cp ... dev.unet4j.bench.QuantTable [--models digits,sd15] [--rounds 5] [--calls 5 (per digits round)] [--sd-steps 0]
 * [--digits testdata/models/digits-16] [--schemes a,b,...] [--sd-schemes a,b,...]}.
 */
public final class QuantTable {
    static final List<String> DIGITS_SCHEMES = List.of("fp32", "bf16", "int8", "int8-w8a8", "fp8-e4m3", "fp8-e5m2", "dr:6", "dr:4", "mixed:5");
    // int8, dr:6 and dr:4 share one model, so they come together; bf16 last (a second float32-sized model)
    static final List<String> SD_SCHEMES = List.of("fp32", "int8", "dr:6", "dr:4", "int8-w8a8", "fp8-e4m3", "fp8-e5m2", "bf16");

    private QuantTable() {
    }

    public static void main(String[] args) throws IOException {
        List<String> models = List.of("digits", "sd15");
        Path digits = Path.of("testdata/models/digits-16");
        int rounds = 5, sdSteps = 0, calls = 5;
        List<String> digitsSchemes = DIGITS_SCHEMES, sdSchemes = SD_SCHEMES;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--models" -> models = List.of(args[++i].split(","));
                case "--digits" -> digits = Path.of(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--sd-steps" -> sdSteps = Integer.parseInt(args[++i]);
                case "--calls" -> calls = Integer.parseInt(args[++i]);
                case "--schemes" -> digitsSchemes = List.of(args[++i].split(","));
                case "--sd-schemes" -> sdSchemes = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; valid: --models, --digits, --rounds, --calls, --sd-steps, --schemes, --sd-schemes");
            }
        }
        System.out.printf("load average at start: %s (%d cores)%n", loadAverage(), Runtime.getRuntime().availableProcessors());
        try (DnnlKernels exact = new DnnlKernels(); DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true))) {
            if (models.contains("digits")) digits(digits, digitsSchemes, rounds, calls, exact, bf16);
            if (models.contains("sd15")) sd15(sdSchemes, rounds, sdSteps, exact, bf16);
        }
        System.out.printf("load average at end: %s%n", loadAverage());
    }

    static String loadAverage() {
        return String.format("%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    // ------------------------------------------------------------------ one configuration

    /** A scheme's model, with the per-layer weight SQNR recorded while it was quantized. */
    static final class Config implements AutoCloseable {
        final QuantSpec spec;
        String label;
        final UNetModel model;
        final WeightPrecision precision;
        final WeightFootprint footprint;
        final Map<String, LayerWeights> layers;
        final UNetSession session;
        long poolPeakBytes; // the session's pooled workspace peak after its one-call run (activations and decode buffers)

        Config(QuantSpec spec, UNetModel model, WeightPrecision precision, WeightFootprint footprint, Map<String, LayerWeights> layers) {
            this.spec = spec;
            this.model = model;
            this.precision = precision;
            this.footprint = footprint;
            this.layers = layers;
            this.session = model.newSession();
            this.label = spec.text();
            session.workspace().attributes().put(WeightPrecision.class, precision);
        }

        /** Median over quantized layers of the weight SQNR at each layer's run precision; NaN without any. */
        double medianWeightSqnr() {
            double[] v = layers.entrySet().stream().mapToDouble(e -> e.getValue().sqnrDb[precision.bitsFor(e.getKey())]).sorted().toArray();
            return v.length == 0 ? Double.NaN : v[v.length / 2];
        }

        /** Resident bytes, or for double rounding the bytes the run-time bit widths would take packed. */
        long packedBytes() {
            long b = footprint.residentBytes();
            for (Map.Entry<String, LayerWeights> e : layers.entrySet()) {
                LayerWeights l = e.getValue();
                b += LayerSensitivity.packedBytes(l.parameters, l.channels, precision.bitsFor(e.getKey())) - LayerSensitivity.packedBytes(l.parameters, l.channels, 8);
            }
            return b;
        }

        @Override
        public void close() {
            session.close();
            model.close();
        }
    }

    /** A quantized layer's shape and its weight SQNR by bit width (index = bits; 8 only for FP8). */
    record LayerWeights(long parameters, int channels, double[] sqnrDb) {
    }

    /** Wraps {@code spec}'s weight source to record each quantized layer's weight SQNR at 8, 6, 4 and 2 bits. */
    static WeightSource recording(QuantSpec spec, Map<String, LayerWeights> out) {
        WeightSource inner = spec.weightSource();
        return (path, weight) -> {
            var q = inner.weightFor(path, weight);
            q.ifPresent(t -> {
                float[] w = weight.toFloatArray();
                double[] db = new double[9];
                Arrays.fill(db, Double.NaN);
                boolean int8 = t.format() == dev.unet4j.core.codes.WeightFormat.INT8;
                for (int bits = 2; bits <= 8; bits += 2) if (int8 || bits == 8) db[bits] = sqnrDb(w, t.dequantize(bits));
                synchronized (out) {
                    out.put(path, new LayerWeights((long) t.channels() * t.channelLength(), t.scales().length, db));
                }
            });
            return q;
        };
    }

    static Kernels kernelsFor(QuantSpec spec, DnnlKernels exact, DnnlKernels bf16) {
        return spec.kernelOptions().bf16Compute() ? bf16 : exact;
    }

    // ------------------------------------------------------------------ digits-16

    static void digits(Path folder, List<String> requested, int rounds, int calls, DnnlKernels exact, DnnlKernels bf16) throws IOException {
        // row 0 is the float32 reference of every comparison and time ratio
        List<String> schemes = new ArrayList<>(List.of("fp32"));
        requested.stream().filter(x -> !x.equals(STATIC_W8A8) && QuantSpec.parse(x).scheme() != QuantSpec.Scheme.FP32).forEach(schemes::add);
        SchedulerConfig cfg = SchedulerConfig.parse(Files.readString(folder.resolve("scheduler_config.json")));
        DdimSampler sampler = DdimSampler.fromConfig(cfg);
        long[] labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seeds = new long[10];
        for (int i = 0; i < 10; i++) seeds[i] = 100 + i;
        Conditioning uncond = ClassConditioning.repeat(10, 10), cond = new ClassConditioning(labels);
        int[] shape = {10, 1, 16, 16};
        List<Config> configs = new ArrayList<>();
        List<Tensor> owned = new ArrayList<>();
        try {
            List<UNetInputs> calibration = new ArrayList<>();
            for (long t : new long[]{100, 500, 900}) calibration.add(digitsInputs(owned, 2, t, 7 + t));
            for (String s : schemes) {
                QuantSpec spec = QuantSpec.parse(s);
                System.err.println("loading digits-16 " + spec.text());
                Kernels k = kernelsFor(spec, exact, bf16);
                Map<String, LayerWeights> layers = new LinkedHashMap<>();
                QuantSpec.Loaded loaded = spec.load(folder, k, calibration);
                // the weight SQNRs: a second quantization of the same float weights, recorded (the load reports none)
                if (spec.quantized()) {
                    QuantizingLayerFactory f = spec.layerFactory(k, recording(spec, layers));
                    UNetModel.load(folder, LoadOptions.of(k).withLayerFactory(x -> f)).close();
                }
                configs.add(new Config(spec, loaded.model(), loaded.precision(), loaded.footprint(), layers));
            }
            if (requested.contains(STATIC_W8A8)) configs.add(calibratedW8a8(folder, exact, sampler, shape, uncond, cond));
            // one call: batch 20 (the CFG batch), t = 500
            UNetInputs one = digitsInputs(owned, 20, 500, 11);
            List<float[]> outs = new ArrayList<>();
            for (Config c : configs) {
                try (Tensor y = c.session.forward(one)) {
                    outs.add(y.toFloatArray());
                }
                c.poolPeakBytes = c.session.allocator().peakBytes();
            }
            // full sampling runs from the same noise
            List<float[]> samples = new ArrayList<>();
            for (Config c : configs) {
                System.err.println("sampling digits-16 " + c.label);
                SamplingRequest req = SamplingRequest.of(25, shape, NoiseSource.perItem(seeds));
                Latents out = sampler.sample(Guidance.classifierFree(new UNetDenoiser(c.session), uncond, cond, 1.5, 0), req);
                samples.add(out.data());
            }
            print("digits-16 (DDIM 25, guidance 1.5, 10 digits; one call = CFG batch 20 at 16x16)", configs, outs, samples,
                    stepTimes(configs, one, rounds, calls));
        } finally {
            configs.forEach(Config::close);
            owned.forEach(Tensor::close);
        }
    }

    /** Scheme name (this table only) of W8A8 with static activation scales calibrated on sampling trajectories. */
    static final String STATIC_W8A8 = "int8-w8a8-static";

    /**
     * W8A8 with static per-site activation scales (Q-Diffusion style): the float32 model runs the same DDIM 25 /
     * guidance 1.5 sampling from other seeds (200-209) with recording layers, every call's inputs observed at its
     * timestep (25 timesteps, both halves of each skip concatenation separately), then the int8 layers take the
     * symmetric s8 scales, so no per-call reductions remain.
     */
    static Config calibratedW8a8(Path folder, DnnlKernels k, DdimSampler sampler, int[] shape, Conditioning uncond, Conditioning cond) throws IOException {
        System.err.println("calibrating digits-16 activations");
        Calibrator cal = new Calibrator();
        CalibrationContext ctx = new CalibrationContext(cal);
        try (UNetModel f = UNetModel.load(folder, LoadOptions.of(k).withLayerFactory(x -> new CalibratingLayerFactory(LayerFactory.of(x))));
             UNetSession s = f.newSession()) {
            s.workspace().attributes().put(CalibrationContext.class, ctx);
            s.setInterceptor(new CalibratingInterceptor(ctx));
            long[] seeds = new long[10];
            for (int i = 0; i < 10; i++) seeds[i] = 200 + i;
            DiffusionModel recording = (x, call, c) -> UNetDenoiser.forward(x, call, c, in -> {
                ctx.setTimestep((int) Math.round(in.timestep().values()[0]));
                return s.forward(in);
            });
            sampler.sample(Guidance.classifierFree(recording, uncond, cond, 1.5, 0), SamplingRequest.of(25, shape, NoiseSource.perItem(seeds)));
        }
        QuantSpec spec = QuantSpec.parse("int8-w8a8");
        QuantizedUNets.Loaded l = QuantizedUNets.loadWithLayers(folder, k, spec.plan(), null,
                Int8Activations.calibrated(cal.scales(ActivationScheme.SYMMETRIC_S8)));
        Config c = new Config(spec, l.model(), spec.precision(), l.footprint(), new LinkedHashMap<>());
        c.label = STATIC_W8A8;
        return c;
    }

    static UNetInputs digitsInputs(List<Tensor> owned, int batch, long t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[batch * 16 * 16], l = new float[batch];
        for (int i = 0; i < x.length; i++) x[i] = (float) gaussian(r);
        for (int i = 0; i < batch; i++) l[i] = i % 11; // digits and the null class 10
        Tensor xt = Tensor.of(x, batch, 1, 16, 16), lt = Tensor.of(l, batch);
        owned.add(xt);
        owned.add(lt);
        return UNetInputs.builder(xt, Timestep.of(t)).classLabels(lt).build();
    }

    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    // ------------------------------------------------------------------ SD 1.5 random weights

    static void sd15(List<String> schemes, int rounds, int steps, DnnlKernels exact, DnnlKernels bf16) {
        String title = "SD 1.5 UNet, seeded random weights, 32x32 latents, batch 2" + (steps > 0 ? " (PSNR: DDIM " + steps + " steps, guidance 7.5)" : "");
        List<Config> rows = new ArrayList<>();
        List<float[]> outs = new ArrayList<>(), samples = new ArrayList<>();
        UNetForwardCases c = UNetForwardCases.SD15_32_B2;
        Config base = sdConfig(QuantSpec.parse("fp32"), exact, bf16);
        header(title, true);
        try (UNetForwardCases.Inputs in = c.inputs(base.model)) {
            // the float32 reference, whatever schemes were asked for (and in whichever order)
            float[] refOut, refSample = steps > 0 ? sdSample(base, steps) : null;
            try (Tensor y = base.session.forward(in.inputs())) {
                refOut = y.toFloatArray();
            }
            Config int8 = null; // int8, dr:6 and dr:4 share one model: only the session precision differs
            for (String s : schemes) {
                QuantSpec spec = QuantSpec.parse(s);
                System.err.println("SD 1.5 " + spec.text());
                boolean keeps = spec.scheme() == QuantSpec.Scheme.INT8 || spec.scheme() == QuantSpec.Scheme.DOUBLE_ROUNDING;
                if (!keeps && int8 != null) { // the INT8 rows are done: free that model before the next load
                    int8.close();
                    int8 = null;
                }
                Config cfg;
                if (spec.scheme() == QuantSpec.Scheme.FP32) cfg = base;
                else if (int8 != null && (spec.scheme() == QuantSpec.Scheme.DOUBLE_ROUNDING || spec.scheme() == QuantSpec.Scheme.INT8)) {
                    cfg = new Config(spec, int8.model, spec.precision(), int8.footprint, int8.layers);
                } else {
                    cfg = sdConfig(spec, exact, bf16);
                }
                if (cfg == base) { // the reference itself: its call and sample were taken above
                    outs.add(refOut);
                    if (steps > 0) samples.add(refSample);
                } else {
                    try (Tensor y = cfg.session.forward(in.inputs())) {
                        outs.add(y.toFloatArray());
                    }
                    if (steps > 0) samples.add(sdSample(cfg, steps));
                }
                cfg.poolPeakBytes = cfg.session.allocator().peakBytes();
                double[] m = stepTimes(List.of(base, cfg), in.inputs(), rounds, 1).medianSeconds();
                rows.add(cfg);
                row(cfg, refOut, outs.get(outs.size() - 1), refSample, samples.isEmpty() ? null : samples.get(samples.size() - 1), 1, m[1] / m[0]);
                System.out.printf("  (%s: float32 %.2f s, %s %.2f s per call)%n", spec.text(), m[0], spec.text(), m[1]);
                if (keeps && int8 == null) int8 = cfg;
                if (cfg != base && cfg != int8) {
                    cfg.session.close();
                    if (int8 == null || cfg.model != int8.model) cfg.model.close(); // rows keep bytes, SQNRs and outputs only
                }
                System.gc();
            }
            if (int8 != null) int8.close();
        } finally {
            base.close();
        }
    }

    static Config sdConfig(QuantSpec spec, DnnlKernels exact, DnnlKernels bf16) {
        Kernels k = kernelsFor(spec, exact, bf16);
        Map<String, LayerWeights> layers = new LinkedHashMap<>();
        QuantizingLayerFactory f = spec.layerFactory(k, recording(spec, layers));
        UNetModel m = UNet2DConditionModel.build(UNet2DConditionConfig.fromJson(UNetForwardCases.Arch.SD15.config),
                new RandomParameterSource(1234), "random SD15", LoadOptions.of(k).withLayerFactory(x -> f));
        return new Config(spec, m, spec.precision(), f.footprint(), layers);
    }

    static float[] sdSample(Config c, int steps) {
        SchedulerConfig cfg = SchedulerConfig.parse("""
                {"_class_name": "DDIMScheduler", "beta_start": 0.00085, "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "clip_sample": false, "set_alpha_to_one": false,
                 "steps_offset": 1, "num_train_timesteps": 1000, "prediction_type": "epsilon"}""");
        dev.unet4j.core.random.TorchGenerator g = new dev.unet4j.core.random.TorchGenerator(7);
        Latents u = Latents.randn(g, 1, 77, 768), t = Latents.randn(g, 1, 77, 768);
        SamplingRequest req = SamplingRequest.of(steps, new int[]{1, 4, 32, 32}, NoiseSource.perItem(5));
        return DdimSampler.fromConfig(cfg).sample(Guidance.classifierFree(new UNetDenoiser(c.session),
                new TextConditioning(u.data(), new int[]{1, 77, 768}), new TextConditioning(t.data(), new int[]{1, 77, 768}), 7.5, 0), req).data();
    }

    // ------------------------------------------------------------------ timing and output

    /** Median seconds of one call per configuration, and the median of its per-round ratio to configuration 0. */
    record StepTimes(double[] medianSeconds, double[] pairedRatios) {
    }

    /**
     * Rounds that visit every configuration once and time a block of {@code calls} back-to-back calls there (their
     * mean: a 15 ms call on a shared 2-core VM varies by 2x from call to call, a block of 5 much less). The ratio to
     * float32 (configuration 0) is taken per round, then the median: a slow phase of the machine (whole rounds ran
     * 2-3x slower at times) slows both sides of one ratio.
     */
    static StepTimes stepTimes(List<Config> configs, UNetInputs in, int rounds, int calls) {
        // warm: primitives, and JIT compilation done (a compiler thread takes one of the two cores from oneDNN's pool)
        for (int w = 0; w < (calls == 1 ? 2 : 3 * calls); w++) for (Config c : configs) c.session.forward(in).close();
        double[][] t = new double[configs.size()][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < configs.size(); i++) {
                int j = (i + r) % configs.size(); // rotate the order so no configuration always runs first
                long t0 = System.nanoTime();
                for (int k = 0; k < calls; k++) configs.get(j).session.forward(in).close();
                t[j][r] = (System.nanoTime() - t0) / 1e9 / calls;
            }
        }
        double[] m = new double[configs.size()], paired = new double[configs.size()];
        for (int i = 0; i < m.length; i++) {
            m[i] = median(t[i]);
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) ratio[r] = t[i][r] / t[0][r];
            paired[i] = median(ratio);
            System.out.printf("  %s: ms per call by round %s%n", configs.get(i).label,
                    Arrays.stream(t[i]).mapToObj(x -> String.format("%.1f", x * 1e3)).toList());
        }
        return new StepTimes(m, paired);
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    static void print(String title, List<Config> configs, List<float[]> outs, List<float[]> samples, StepTimes times) {
        System.out.printf("%n(float32 median step %.3f s)%n", times.medianSeconds()[0]);
        print(title, configs, outs, samples, times.pairedRatios(), true, 10);
    }

    /** Median and worst PSNR over the {@code images} items of the samples, each against its own float32 range. */
    static String perImagePsnr(float[] ref, float[] got, int images) {
        int n = ref.length / images;
        double[] db = new double[images];
        for (int i = 0; i < images; i++) {
            db[i] = psnrDb(Arrays.copyOfRange(ref, i * n, (i + 1) * n), Arrays.copyOfRange(got, i * n, (i + 1) * n));
        }
        Arrays.sort(db);
        return fmt(db[images / 2]) + " / " + fmt(db[0]);
    }

    static void print(String title, List<Config> configs, List<float[]> outs, List<float[]> samples, double[] timeRatios, boolean pairwise, int images) {
        header(title, pairwise);
        for (int i = 0; i < configs.size(); i++) {
            row(configs.get(i), outs.get(0), outs.get(i), samples == null ? null : samples.get(0), samples == null ? null : samples.get(i), images, timeRatios[i]);
        }
    }

    static void header(String title, boolean pairwise) {
        System.out.println();
        System.out.println("## " + title + " — load average " + loadAverage());
        System.out.println();
        System.out.println("| scheme | weight bytes vs fp32 | packed at run bits | median layer SQNR dB | one call max|Δ|/max|ref| | one call SQNR dB "
                + "| final-sample PSNR dB | per-image PSNR median / worst dB | step time vs fp32" + (pairwise ? " (paired)" : "") + " | session pool peak MB |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
    }

    /** One table row; {@code refSample}/{@code sample} null when there was no sampling run. */
    static void row(Config c, float[] refOut, float[] out, float[] refSample, float[] sample, int images, double timeRatio) {
        String psnr = sample == null ? "-" : fmt(psnrDb(refSample, sample));
        String perImage = sample == null ? "-" : perImagePsnr(refSample, sample, images);
        System.out.printf("| %s | %.3fx | %.3fx | %s | %.2e | %s | %s | %s | %.2fx | %.1f |%n", c.label, c.footprint.ratio(),
                (double) c.packedBytes() / c.footprint.float32Bytes(), fmt(c.medianWeightSqnr()), relMax(refOut, out), fmt(sqnrDb(refOut, out)), psnr, perImage,
                timeRatio, c.poolPeakBytes / 1e6);
        System.out.flush();
    }

    static String fmt(double db) {
        return Double.isNaN(db) ? "-" : Double.isInfinite(db) ? "inf" : String.format("%.1f", db);
    }

    static double sqnrDb(float[] ref, float[] got) {
        double s = 0, e = 0;
        for (int i = 0; i < ref.length; i++) {
            s += (double) ref[i] * ref[i];
            double d = (double) got[i] - ref[i];
            e += d * d;
        }
        return e == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(s / e);
    }

    static double relMax(float[] ref, float[] got) {
        double m = 0, d = 0;
        for (int i = 0; i < ref.length; i++) {
            m = Math.max(m, Math.abs(ref[i]));
            d = Math.max(d, Math.abs((double) got[i] - ref[i]));
        }
        return d / m;
    }

    /** {@code 10 log10(R^2 / MSE)} with R the value range (max - min) of the float32 sample. */
    static double psnrDb(float[] ref, float[] got) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, se = 0;
        for (int i = 0; i < ref.length; i++) {
            min = Math.min(min, ref[i]);
            max = Math.max(max, ref[i]);
            double d = (double) got[i] - ref[i];
            se += d * d;
        }
        double mse = se / ref.length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10((max - min) * (max - min) / mse);
    }
}
