package dev.unet4j.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.unet4j.bench.onnx.OnnxTracer;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The UNet issue's yardstick run side by side: ONNX Runtime's CPU provider and unet4j on the same network, the same
 * weights and the same inputs, timed alternately in one process. The ONNX graph is recorded from one unet4j forward
 * ({@link OnnxTracer}: the operators a {@code torch.onnx.export} of the diffusers modules emits) and checked against
 * unet4j's output before anything is timed.
 *
 * <p>Usage: {@code OrtSideBySide [CASE ...] [--reps N] [--dir DIR] [--keep]}; cases from {@link UNetForwardCases}, default
 * DDPM_CIFAR10_B1 SD15_32_B2. ONNX Runtime gets every core as intra-op threads (as unet4j does), full graph optimisation,
 * sequential execution. Each runtime is timed in blocks of back-to-back calls after a pause (one untimed call
 * first), alternating blocks, so neither shares the cores with the other's spinning idle workers.
 */
public final class OrtSideBySide {
    private static final int BLOCK = 5;
    private static final long PAUSE_MS = 300;

    private OrtSideBySide() {
    }

    public static void main(String[] args) throws Exception {
        List<UNetForwardCases> cases = new ArrayList<>();
        int reps = 10;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "unet4j-onnx");
        boolean keep = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--keep" -> keep = true;
                default -> cases.add(UNetForwardCases.valueOf(args[i]));
            }
        }
        if (cases.isEmpty()) cases = List.of(UNetForwardCases.DDPM_CIFAR10_B1, UNetForwardCases.SD15_32_B2);
        int threads = Runtime.getRuntime().availableProcessors();
        double sgemmBefore = UNetForwardTable.sgemmGflops(2048, 5);
        List<Row> rows = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (DnnlKernels kernels = new DnnlKernels()) {
            for (UNetForwardCases c : cases) {
                Path caseDir = dir.resolve(c.name());
                Traced t = trace(kernels, c, caseDir);
                try (OrtSession.SessionOptions so = sessionOptions(threads)) {
                    try (OrtSession ort = env.createSession(t.model.toString(), so);
                         UNetModel model = c.arch.build(kernels); UNetSession s = model.newSession();
                         UNetForwardCases.Inputs in = c.inputs(model); Feeds feeds = Feeds.of(env, t.inputs)) {
                        float[] ortOut = runOrt(ort, feeds);
                        float[] ours;
                        try (Tensor y = s.forward(in.inputs())) {
                            ours = y.toFloatArray();
                        }
                        double refMax = 0, dOrt = 0, dTrace = 0;
                        for (int i = 0; i < ours.length; i++) {
                            refMax = Math.max(refMax, Math.abs(ours[i]));
                            dOrt = Math.max(dOrt, Math.abs(ortOut[i] - ours[i]));
                            dTrace = Math.max(dTrace, Math.abs(t.output[i] - ours[i]));
                        }
                        System.out.printf("%s: %d ONNX nodes; max|ORT - unet4j| = %.3g, traced vs plain model %.3g (max|out| %.3g)%n",
                                c, t.nodes, dOrt, dTrace, refMax);
                        if (dOrt > 1e-3 * (1 + refMax)) {
                            throw new IllegalStateException(c + ": ONNX Runtime disagrees with unet4j (max|d| " + dOrt + "); the export is wrong, timing it means nothing");
                        }
                        // warm-up both (primitive creation, ORT's first-run allocations, the JIT), then alternate
                        long w0 = System.nanoTime();
                        for (int w = 0; w < 2 || System.nanoTime() - w0 < 4_000_000_000L; w++) {
                            s.forward(in.inputs()).close();
                            runOrt(ort, feeds);
                        }
                        // blocks of BLOCK back-to-back calls per runtime, alternating, each after a pause: each
                        // library leaves its idle workers spinning after a call, so the one timed right after the
                        // other would share the cores with them
                        double[] msOurs = new double[reps], msOrt = new double[reps];
                        for (int done = 0; done < reps; done += BLOCK) {
                            int n = Math.min(BLOCK, reps - done);
                            Thread.sleep(PAUSE_MS);
                            s.forward(in.inputs()).close();
                            for (int r = 0; r < n; r++) {
                                long a = System.nanoTime();
                                s.forward(in.inputs()).close();
                                msOurs[done + r] = (System.nanoTime() - a) / 1e6;
                            }
                            Thread.sleep(PAUSE_MS);
                            runOrt(ort, feeds);
                            for (int r = 0; r < n; r++) {
                                long a = System.nanoTime();
                                runOrt(ort, feeds);
                                msOrt[done + r] = (System.nanoTime() - a) / 1e6;
                            }
                        }
                        Arrays.sort(msOurs);
                        Arrays.sort(msOrt);
                        double gflop = 2.0 * s.lastTrace().macsDone() / 1e9;
                        rows.add(new Row(c, "unet4j (oneDNN)", gflop, msOurs, msOrt[reps / 2] / msOurs[reps / 2]));
                        rows.add(new Row(c, "ONNX Runtime " + env.getVersion(), gflop, msOrt, 1.0));
                    }
                }
                if (!keep) deleteTree(caseDir);
            }
        }
        double sgemm = Math.max(sgemmBefore, UNetForwardTable.sgemmGflops(2048, 5));
        System.out.printf("%nthreads: %d; OpenBLAS sgemm 2048^3 (best of before/after): %.1f GFLOPS; %d alternating reps%n%n", threads, sgemm, reps);
        System.out.println("| workload | runtime | GFLOP/forward | ms median | ms best | GFLOPS median | % of sgemm (median) | ORT time / this (median) |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (Row r : rows) {
            double med = r.ms[r.ms.length / 2], gflops = r.gflop / (med / 1e3);
            System.out.printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.2f |%n", r.c, r.runtime, r.gflop, med, r.ms[0], gflops,
                    100 * gflops / sgemm, r.vsOrt);
        }
    }

    /** The yardstick's settings: {@code threads} intra-op threads, one inter-op, sequential, every graph optimisation. */
    static OrtSession.SessionOptions sessionOptions(int threads) throws OrtException {
        OrtSession.SessionOptions so = new OrtSession.SessionOptions();
        try {
            so.setIntraOpNumThreads(threads);
            so.setInterOpNumThreads(1);
            so.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            so.setSessionLogLevel(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR); // not one line per unused weight
            return so;
        } catch (OrtException | RuntimeException e) {
            so.close();
            throw e;
        }
    }

    private record Row(UNetForwardCases c, String runtime, double gflop, double[] ms, double vsOrt) {
    }

    private record Traced(Path model, Map<String, OnnxTracer.Input> inputs, float[] output, int nodes) {
    }

    /** One recorded forward of {@code c} on a fresh model; the model is closed afterwards (weights live in the file). */
    private static Traced trace(DnnlKernels kernels, UNetForwardCases c, Path dir) {
        try (OnnxTracer tracer = new OnnxTracer(kernels, dir); UNetModel model = c.arch.build(tracer);
             UNetSession s = model.newSession(); UNetForwardCases.Inputs in = c.inputs(model); Tensor y = s.forward(in.inputs())) {
            Path p = tracer.finish(y);
            return new Traced(p, Map.copyOf(tracer.inputValues()), y.toFloatArray(), tracer.nodeCount());
        }
    }

    /** The graph inputs as ONNX Runtime tensors (native), closed together. */
    record Feeds(Map<String, OnnxTensor> tensors) implements AutoCloseable {
        static Feeds of(OrtEnvironment env, Map<String, OnnxTracer.Input> inputs) throws OrtException {
            Feeds f = new Feeds(new HashMap<>());
            try {
                for (var e : inputs.entrySet()) {
                    OnnxTracer.Input in = e.getValue();
                    f.tensors.put(e.getKey(), in.ids() != null ? OnnxTensor.createTensor(env, LongBuffer.wrap(in.ids()), in.shape())
                            : OnnxTensor.createTensor(env, FloatBuffer.wrap(in.values()), in.shape()));
                }
                return f;
            } catch (OrtException | RuntimeException e) {
                f.close();
                throw e;
            }
        }

        @Override
        public void close() {
            tensors.values().forEach(OnnxTensor::close);
        }
    }

    static float[] runOrt(OrtSession ort, Feeds feeds) throws OrtException {
        try (OrtSession.Result r = ort.run(feeds.tensors())) {
            FloatBuffer b = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] v = new float[b.remaining()];
            b.get(v);
            return v;
        }
    }

    static void deleteTree(Path p) throws java.io.IOException {
        if (!Files.exists(p)) return;
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
