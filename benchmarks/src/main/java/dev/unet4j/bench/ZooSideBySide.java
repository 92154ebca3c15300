package dev.unet4j.bench;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.unet4j.bench.onnx.OnnxTracer;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.nn.WeightFootprint;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The zoo's UNets next to ONNX Runtime on the same seeded weights and inputs: MK-UNet at its paper's size (channels
 * 16-32-64-96-160, 3 input channels, 1 class) and UNet++ as nnU-Net's 2-D configuration builds it (32 base features up
 * to 480, 5 poolings, InstanceNorm, LeakyReLU, 1 input channel, 3 classes, deep supervision), at 256x256; DDoS-UNet's
 * 3-D UNet with {@code train_DDoS.py}'s defaults (depth 3, wf 6: 64 features, trilinear up-sampling, prior and current
 * channel) on one volume. The ONNX graph is recorded from one unet4j forward ({@link OnnxTracer}) and checked against
 * unet4j's output first; then unet4j float32, unet4j int8 W8A8 and ONNX Runtime float32 (all cores, full optimisation)
 * are timed in turn, each after a pause, as {@link OrtSideBySide} does. The int8 row gives its max|Δ| to float32
 * relative to max|output|; an int8 model that fails to run, or has no quantized layer, is reported in its row and
 * the float32 comparison still runs.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.ZooSideBySide [--batch 1,8] [--reps 10]
 * [--warmup 2] [--size 256] [--volume D,H,W] [--model mkunet,unetpp,ddos] [--threads T] [--quick]}; {@code --quick}:
 * 128x128, batch 1, 3 reps. unet4j's thread count is oneDNN's OpenMP one ({@code OMP_NUM_THREADS}); {@code --threads}
 * sets ONNX Runtime's to match.
 */
public final class ZooSideBySide {
    private static final long PAUSE_MS = 300;

    private ZooSideBySide() {
    }

    /** The benchmarked models with their configs. */
    enum Zoo {
        MKUNET("mkunet", "MK-UNet", """
                {"_class_name": "MK_UNet", "num_classes": 1, "in_channels": 3, "channels": [16, 32, 64, 96, 160],
                 "depths": [1, 1, 1, 1, 1], "kernel_sizes": [1, 3, 5], "expansion_factor": 2, "gag_kernel": 3}"""),
        UNETPP("unetpp", "UNet++ (nnU-Net 2D)", """
                {"_class_name": "Generic_UNetPlusPlus", "input_channels": 1, "base_num_features": 32, "num_classes": 3, "num_pool": 5,
                 "num_conv_per_stage": 2, "feat_map_mul_on_downscale": 2, "conv_op": "torch.nn.Conv2d",
                 "norm_op": "torch.nn.InstanceNorm2d", "norm_op_kwargs": {"eps": 1e-05, "affine": true},
                 "dropout_op": "torch.nn.Dropout2d", "dropout_op_kwargs": {"p": 0, "inplace": true},
                 "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"negative_slope": 0.01, "inplace": true},
                 "deep_supervision": true, "dropout_in_localization": false, "final_nonlin": "lambda x: x",
                 "pool_op_kernel_sizes": [[2, 2], [2, 2], [2, 2], [2, 2], [2, 2]],
                 "conv_kernel_sizes": [[3, 3], [3, 3], [3, 3], [3, 3], [3, 3], [3, 3]], "upscale_logits": false,
                 "convolutional_pooling": true, "convolutional_upsampling": true, "max_num_features": 480}"""),
        DDOS("ddos", "DDoS-UNet 3D (wf 6)", """
                {"_class_name": "UNet", "in_channels": 2, "n_classes": 1, "depth": 3, "wf": 6, "padding": true,
                 "batch_norm": false, "up_mode": "upsample", "dropout": false}""");

        final String key, title, json;

        Zoo(String key, String title, String json) {
            this.key = key;
            this.title = title;
            this.json = json;
        }

        /** The model with seeded weights. */
        ZooModel<?> build(LoadOptions options) throws IOException {
            return ZooModel.build(DiffusersConfig.parse(json, "ZooSideBySide " + key), new RandomParameterSource(99), "seeded " + title, options);
        }

        /** Uniform [-1, 1) input: {@code [batch, C, size, size]}, or {@code [batch, C, D, H, W]} of {@code --volume}. */
        Tensor input(ZooModel<?> m, int batch, Args a) {
            long[] shape = m.inputRank() == 5 ? new long[]{batch, m.inChannels(), a.volume[0], a.volume[1], a.volume[2]}
                    : new long[]{batch, m.inChannels(), a.size, a.size};
            SplittableRandom r = new SplittableRandom(7);
            float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
            for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
            return Tensor.of(v, shape);
        }

        String label(Args a) {
            return title + ", " + (this == DDOS ? a.volume[0] + "x" + a.volume[1] + "x" + a.volume[2] : a.size + "x" + a.size);
        }
    }

    /** The command line shared with {@link ZooProfile}. */
    record Args(List<Zoo> models, List<Integer> batches, int reps, int warmup, int size, int[] volume, int threads) {
        static Args parse(String[] args, int defaultReps) {
            int reps = defaultReps, warmup = 2, size = 256, threads = Runtime.getRuntime().availableProcessors();
            int[] volume = {16, 32, 32};
            List<Integer> batches = List.of(1, 8);
            List<Zoo> models = List.of(Zoo.MKUNET, Zoo.UNETPP, Zoo.DDOS);
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--reps" -> reps = Integer.parseInt(args[++i]);
                    case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                    case "--size" -> size = Integer.parseInt(args[++i]);
                    case "--volume" -> volume = ints(args[++i]).stream().mapToInt(Integer::intValue).toArray();
                    case "--batch" -> batches = ints(args[++i]);
                    case "--threads" -> threads = Integer.parseInt(args[++i]);
                    case "--model" -> models = Arrays.stream(args[++i].split(",")).map(String::strip).map(k -> Arrays.stream(Zoo.values())
                            .filter(z -> z.key.equals(k)).findFirst()
                            .orElseThrow(() -> new IllegalArgumentException("--model mkunet, unetpp or ddos (comma-separated), got " + k))).toList();
                    case "--quick" -> {
                        reps = 3;
                        size = 128;
                        batches = List.of(1);
                    }
                    default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--batch B,B, --reps N, --warmup N, "
                            + "--size S, --volume D,H,W, --threads T, --model mkunet,unetpp,ddos, --quick)");
                }
            }
            if (volume.length != 3) throw new IllegalArgumentException("--volume D,H,W: three sizes");
            return new Args(models, batches, reps, warmup, size, volume, threads);
        }

        private static List<Integer> ints(String csv) {
            return Arrays.stream(csv.split(",")).map(String::strip).map(Integer::valueOf).toList();
        }
    }

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args, 10);
        int reps = a.reps;
        System.out.printf(Locale.ROOT, "ONNX Runtime %d intra-op threads, OMP_NUM_THREADS=%s; load average at start %s%n", a.threads,
                System.getenv("OMP_NUM_THREADS"), QuantTable.loadAverage());
        List<String> rows = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        QuantSpec int8 = QuantSpec.parse("int8-w8a8");
        for (Zoo zoo : a.models) {
            for (int batch : a.batches) {
                String name = zoo.label(a) + ", batch " + batch;
                Path dir = Path.of(System.getProperty("java.io.tmpdir"), "unet4j-zoo-onnx-" + ProcessHandle.current().pid());
                try (DnnlKernels f32 = new DnnlKernels(); DnnlKernels q8 = new DnnlKernels(int8.kernelOptions())) {
                    Traced t;
                    try (OnnxTracer tracer = new OnnxTracer(f32, dir); ZooModel<?> m = zoo.build(LoadOptions.of(tracer));
                         ZooSession s = m.newSession(); Tensor x = zoo.input(m, batch, a)) {
                        Map<String, Tensor> out = s.forward(x);
                        try {
                            Tensor y = out.values().iterator().next();
                            t = new Traced(tracer.finish(y), Map.copyOf(tracer.inputValues()), y.toFloatArray(), s.lastMacs());
                        } finally {
                            out.values().forEach(Tensor::close);
                        }
                    }
                    QuantizingLayerFactory qf = int8.layerFactory(q8, int8.weightSource());
                    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
                        so.setIntraOpNumThreads(a.threads);
                        so.setInterOpNumThreads(1);
                        so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                        try (OrtSession ort = env.createSession(t.model.toString(), so);
                             OrtSideBySide.Feeds feeds = OrtSideBySide.Feeds.of(env, t.inputs);
                             ZooModel<?> mf = zoo.build(LoadOptions.of(f32));
                             ZooModel<?> mq = zoo.build(LoadOptions.of(q8).withLayerFactory(qf));
                             ZooSession sf = mf.newSession(); ZooSession sq = mq.newSession(); Tensor x = zoo.input(mf, batch, a)) {
                            sq.workspace().attributes().put(WeightPrecision.class, int8.precision());
                            float[] ortOut = OrtSideBySide.runOrt(ort, feeds), ours = first(sf, x), quant = ours;
                            String int8Failure = qf.footprint().layers().containsValue(WeightFootprint.LayerKind.W8A8) ? null
                                    : "no layer quantized";
                            if (int8Failure == null) {
                                try {
                                    quant = first(sq, x);
                                } catch (RuntimeException e) { // reported in the row, the float32 comparison still runs
                                    int8Failure = e.getMessage();
                                }
                            }
                            if (int8Failure != null) System.out.println(name + ": int8 W8A8 not timed: " + int8Failure);
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
                            for (int w = 0; w < a.warmup; w++) {
                                first(sf, x);
                                if (int8Ran) first(sq, x);
                                OrtSideBySide.runOrt(ort, feeds);
                            }
                            for (int r = 0; r < reps; r++) {
                                Thread.sleep(PAUSE_MS);
                                long t0 = System.nanoTime();
                                first(sf, x);
                                msF[r] = (System.nanoTime() - t0) / 1e6;
                                if (int8Ran) {
                                    Thread.sleep(PAUSE_MS);
                                    t0 = System.nanoTime();
                                    first(sq, x);
                                    msQ[r] = (System.nanoTime() - t0) / 1e6;
                                }
                                Thread.sleep(PAUSE_MS);
                                t0 = System.nanoTime();
                                OrtSideBySide.runOrt(ort, feeds);
                                msO[r] = (System.nanoTime() - t0) / 1e6;
                            }
                            Arrays.sort(msF);
                            Arrays.sort(msQ);
                            Arrays.sort(msO);
                            double f = msF[reps / 2], q = msQ[reps / 2], o = msO[reps / 2];
                            rows.add(int8Ran ? String.format(Locale.ROOT, "| %s | %.2f | %.1f | %.1f | %.1f | %.2f | %.2f | %.1e |", name,
                                    2.0 * t.macs / 1e9, f, q, o, o / f, o / q, dQ / max)
                                    : String.format(Locale.ROOT, "| %s | %.2f | %.1f | - (%s) | %.1f | %.2f | - | - |", name,
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
