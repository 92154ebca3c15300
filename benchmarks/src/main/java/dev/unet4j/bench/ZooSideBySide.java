package dev.unet4j.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.unet4j.bench.onnx.OnnxTracer;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;
import dev.unet4j.zoo.mkunet.MKUNet;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The segmentation UNets of the zoo next to ONNX Runtime on the same seeded weights and inputs: MK-UNet at its paper's
 * size (channels 16-32-64-96-160, 3 input channels, 1 class) and UNet++ as nnU-Net's 2-D configuration builds it
 * (32 base features up to 480, 5 poolings, InstanceNorm, LeakyReLU, 1 input channel, 3 classes, deep supervision), at
 * 256x256. The ONNX graph is recorded from one unet4j forward ({@link OnnxTracer}) and checked against unet4j's output
 * first; then unet4j float32, unet4j int8 W8A8 and ONNX Runtime float32 (all cores, full optimisation) are timed in
 * turn, each after a pause, as {@link OrtSideBySide} does. The int8 row gives its max|Δ| to float32 relative to
 * max|output|; an int8 model that fails to run is reported in its row and the float32 comparison still runs.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.ZooSideBySide [--batch 1,8] [--reps 10]
 * [--size 256] [--model mkunet|unetpp] [--threads T] [--quick]}; {@code --quick}: 128x128, batch 1, 3 reps. unet4j's
 * thread count is oneDNN's OpenMP one ({@code OMP_NUM_THREADS}); {@code --threads} sets ONNX Runtime's to match.
 */
public final class ZooSideBySide {
    private static final long PAUSE_MS = 300;

    private ZooSideBySide() {
    }

    static final String MKUNET = """
            {"_class_name": "MK_UNet", "num_classes": 1, "in_channels": 3, "channels": [16, 32, 64, 96, 160],
             "depths": [1, 1, 1, 1, 1], "kernel_sizes": [1, 3, 5], "expansion_factor": 2, "gag_kernel": 3}""";
    static final String UNETPP = """
            {"_class_name": "Generic_UNetPlusPlus", "input_channels": 1, "base_num_features": 32, "num_classes": 3, "num_pool": 5,
             "num_conv_per_stage": 2, "feat_map_mul_on_downscale": 2, "conv_op": "torch.nn.Conv2d",
             "norm_op": "torch.nn.InstanceNorm2d", "norm_op_kwargs": {"eps": 1e-05, "affine": true},
             "dropout_op": "torch.nn.Dropout2d", "dropout_op_kwargs": {"p": 0, "inplace": true},
             "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"negative_slope": 0.01, "inplace": true},
             "deep_supervision": true, "dropout_in_localization": false, "final_nonlin": "lambda x: x",
             "pool_op_kernel_sizes": [[2, 2], [2, 2], [2, 2], [2, 2], [2, 2]],
             "conv_kernel_sizes": [[3, 3], [3, 3], [3, 3], [3, 3], [3, 3], [3, 3]], "upscale_logits": false,
             "convolutional_pooling": true, "convolutional_upsampling": true, "max_num_features": 480}""";

    public static void main(String[] args) throws Exception {
        int reps = 10, size = 256, threads = Runtime.getRuntime().availableProcessors();
        List<Integer> batches = List.of(1, 8);
        List<String> models = List.of(MKUNET, UNETPP);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--batch" -> batches = Arrays.stream(args[++i].split(",")).map(String::strip).map(Integer::valueOf).toList();
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--model" -> models = switch (args[++i]) {
                    case "mkunet" -> List.of(MKUNET);
                    case "unetpp" -> List.of(UNETPP);
                    default -> throw new IllegalArgumentException("--model mkunet or unetpp, got " + args[i]);
                };
                case "--quick" -> {
                    reps = 3;
                    size = 128;
                    batches = List.of(1);
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (--batch B,B, --reps N, --size S, --threads T, --model mkunet|unetpp, --quick)");
            }
        }
        System.out.printf(Locale.ROOT, "ONNX Runtime %d intra-op threads, OMP_NUM_THREADS=%s; load average at start %s%n", threads,
                System.getenv("OMP_NUM_THREADS"), QuantTable.loadAverage());
        List<String> rows = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        QuantSpec int8 = QuantSpec.parse("int8-w8a8");
        for (String json : models) {
            for (int batch : batches) {
                String name = (json == MKUNET ? "MK-UNet" : "UNet++ (nnU-Net 2D)") + ", " + size + "x" + size + ", batch " + batch;
                Path dir = Path.of(System.getProperty("java.io.tmpdir"), "unet4j-zoo-onnx-" + ProcessHandle.current().pid());
                try (DnnlKernels f32 = new DnnlKernels(); DnnlKernels q8 = new DnnlKernels(int8.kernelOptions())) {
                    Traced t;
                    try (OnnxTracer tracer = new OnnxTracer(f32, dir); ZooModel m = build(json, LoadOptions.of(tracer));
                         ZooSession s = m.newSession(); Tensor x = input(m, batch, size)) {
                        Map<String, Tensor> out = s.forward(x);
                        try {
                            Tensor y = out.values().iterator().next();
                            t = new Traced(tracer.finish(y), Map.copyOf(tracer.inputValues()), y.toFloatArray(), s.lastMacs());
                        } finally {
                            out.values().forEach(Tensor::close);
                        }
                    }
                    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                        so.setIntraOpNumThreads(threads);
                        so.setInterOpNumThreads(1);
                        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                        try (OrtSession ort = env.createSession(t.model.toString(), so);
                             OrtSideBySide.Feeds feeds = OrtSideBySide.Feeds.of(env, t.inputs);
                             ZooModel mf = build(json, LoadOptions.of(f32));
                             ZooModel mq = build(json, LoadOptions.of(q8).withLayerFactory(k -> int8.layerFactory(k, int8.weightSource())));
                             ZooSession sf = mf.newSession(); ZooSession sq = mq.newSession(); Tensor x = input(mf, batch, size)) {
                            sq.workspace().attributes().put(WeightPrecision.class, int8.precision());
                            float[] ortOut = OrtSideBySide.runOrt(ort, feeds), ours = first(sf, x), quant;
                            String int8Failure = null;
                            try {
                                quant = first(sq, x);
                            } catch (RuntimeException e) { // reported in the row, the float32 comparison still runs
                                int8Failure = e.getMessage();
                                quant = ours;
                                System.out.println(name + ": int8 W8A8 failed: " + int8Failure);
                            }
                            boolean int8Ran = int8Failure == null;
                            double max = 0, dOrt = 0, dQ = 0;
                            for (int i = 0; i < ours.length; i++) {
                                max = Math.max(max, Math.abs(ours[i]));
                                dOrt = Math.max(dOrt, Math.abs(ortOut[i] - ours[i]));
                                dQ = Math.max(dQ, Math.abs(quant[i] - ours[i]));
                            }
                            System.out.printf(Locale.ROOT, "%s: %.2f GFLOP; max|ORT - unet4j| %.2e, int8 W8A8 max|d| %.2e relative to max|out| %.3g%n",
                                    name, 2.0 * t.macs / 1e9, dOrt / max, dQ / max, max);
                            if (dOrt > 1e-3 * max) throw new IllegalStateException(name + ": ONNX Runtime disagrees with unet4j; the export is wrong");
                            double[] msF = new double[reps], msQ = new double[reps], msO = new double[reps];
                            for (int w = 0; w < 2; w++) {
                                first(sf, x);
                                if (int8Ran) first(sq, x);
                                OrtSideBySide.runOrt(ort, feeds);
                            }
                            for (int r = 0; r < reps; r++) {
                                Thread.sleep(PAUSE_MS);
                                long a = System.nanoTime();
                                first(sf, x);
                                msF[r] = (System.nanoTime() - a) / 1e6;
                                if (int8Ran) {
                                    Thread.sleep(PAUSE_MS);
                                    a = System.nanoTime();
                                    first(sq, x);
                                    msQ[r] = (System.nanoTime() - a) / 1e6;
                                }
                                Thread.sleep(PAUSE_MS);
                                a = System.nanoTime();
                                OrtSideBySide.runOrt(ort, feeds);
                                msO[r] = (System.nanoTime() - a) / 1e6;
                            }
                            Arrays.sort(msF);
                            Arrays.sort(msQ);
                            Arrays.sort(msO);
                            double f = msF[reps / 2], q = msQ[reps / 2], o = msO[reps / 2];
                            rows.add(int8Ran ? String.format(Locale.ROOT, "| %s | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1e |", name,
                                    2.0 * t.macs / 1e9, f, q, o, o / f, o / q, dQ / max)
                                    : String.format(Locale.ROOT, "| %s | %.2f | %.1f | failed (%s) | %.1f | %.2f | - | - |", name,
                                    2.0 * t.macs / 1e9, f, int8Failure.replace('|', '/'), o, o / f));
                        }
                    }
                } finally {
                    OrtSideBySide.deleteTree(dir);
                }
            }
        }
        System.out.printf(Locale.ROOT, "%n%d alternating reps, medians; load average at end %s%n%n", reps, QuantTable.loadAverage());
        System.out.println("| model | GFLOP/forward | unet4j float32 ms | unet4j int8 W8A8 ms | ONNX Runtime float32 ms | ORT / unet4j f32 | ORT / unet4j int8 | int8 max|Δ| rel |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
    }

    private record Traced(Path model, Map<String, OnnxTracer.Input> inputs, float[] output, long macs) {
    }

    /** The model of {@code json} with seeded weights (BatchNorm running variances positive). */
    static ZooModel build(String json, LoadOptions options) throws dev.unet4j.core.checkpoint.ModelException {
        DiffusersConfig c = DiffusersConfig.parse(json, "ZooSideBySide");
        RandomParameterSource random = new RandomParameterSource(99);
        ParameterSource src = new ParameterSource() {
            @Override
            public Tensor load(String name, long[] shape) {
                Tensor t = random.load(name, shape);
                if (t == null || !name.endsWith("running_var")) return t;
                try (t) {
                    float[] v = t.toFloatArray();
                    for (int i = 0; i < v.length; i++) v[i] = 0.5f + Math.abs(v[i]);
                    return Tensor.of(v, shape);
                }
            }

            @Override
            public Set<String> names() {
                return Set.of();
            }
        };
        return json == MKUNET ? MKUNet.build(MKUNet.Config.from(c), src, "seeded MK-UNet", options)
                : GenericUNetPlusPlus.build(GenericUNetPlusPlus.Config.from(c), src, "seeded UNet++", options);
    }

    static Tensor input(ZooModel m, int batch, int size) {
        long[] shape = {batch, m.inChannels(), size, size};
        SplittableRandom r = new SplittableRandom(7);
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(v, shape);
    }

    /** One forward; the first output's values (the others closed). */
    static float[] first(ZooSession s, Tensor x) {
        Map<String, Tensor> out = s.forward(x);
        try {
            return out.values().iterator().next().toFloatArray();
        } finally {
            out.values().forEach(Tensor::close);
        }
    }
}
