package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.NodeLevel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Plain table printer: UNet forward time and achieved GFLOPS on oneDNN next to OpenBLAS sgemm GFLOPS measured in the
 * same run (the yardstick; target: the UNet reaches at least 85% of it), plus where the MACs go per block.
 * Usage: {@code UNetForwardTable [CASE ...] [--reps N] [--score-mb MB]} (attention score block budget), default DDPM_CIFAR10_B1 SD15_32_B2.
 */
public final class UNetForwardTable {
    private UNetForwardTable() {
    }

    public static void main(String[] args) {
        List<UNetForwardCases> cases = new ArrayList<>();
        int reps = 5;
        long scoreBytes = DnnlKernels.Options.DEFAULT_ATTENTION_SCORE_BYTES;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Integer.parseInt(args[++i]);
            else if (args[i].equals("--score-mb")) scoreBytes = Long.parseLong(args[++i]) << 20;
            else cases.add(UNetForwardCases.valueOf(args[i]));
        }
        if (cases.isEmpty()) cases = List.of(UNetForwardCases.DDPM_CIFAR10_B1, UNetForwardCases.SD15_32_B2);
        String threads = System.getenv().getOrDefault("OMP_NUM_THREADS", Runtime.getRuntime().availableProcessors() + " (all cores)");
        double sgemmBefore = sgemmGflops(2048, 5);
        List<String> rows = new ArrayList<>();
        List<String> breakdowns = new ArrayList<>();
        try (DnnlKernels kernels = new DnnlKernels(new DnnlKernels.Options(false, scoreBytes))) {
            for (UNetForwardCases c : cases) {
                try (UNetModel model = c.arch.build(kernels); UNetSession s = model.newSession();
                     UNetForwardCases.Inputs in = c.inputs(model)) {
                    // warm-up: primitives, pool, and the JIT (a small UNet's first ~20 forwards still share the cores
                    // with C2 compiler threads): at least 2 forwards and 3 s
                    long warmStart = System.nanoTime();
                    for (int w = 0; w < 2 || System.nanoTime() - warmStart < 3_000_000_000L; w++) s.forward(in.inputs()).close();
                    double[] ms = new double[reps];
                    for (int r = 0; r < reps; r++) {
                        long t0 = System.nanoTime();
                        s.forward(in.inputs()).close();
                        ms[r] = (System.nanoTime() - t0) / 1e6;
                    }
                    Arrays.sort(ms);
                    CallTrace tr = s.lastTrace();
                    double flop = 2.0 * tr.macsDone();
                    rows.add(String.format("| %s | %.1fM | %.2f | %.1f | %.1f | %.1f | %.1f |", c, model.parameterCount() / 1e6,
                            tr.macsDone() / 1e9, ms[reps / 2], ms[0], flop / (ms[reps / 2] / 1e3) / 1e9, flop / (ms[0] / 1e3) / 1e9));
                    breakdowns.add(breakdown(c, tr));
                }
            }
        }
        // measured before and after the UNets; the better figure is the machine's sgemm capability in this run
        double sgemm = Math.max(sgemmBefore, sgemmGflops(2048, 5));
        System.out.printf("threads: %s; OpenBLAS sgemm 2048^3 (best of before/after): %.1f GFLOPS%n%n", threads, sgemm);
        System.out.println("| workload | params | GMAC/forward | ms/forward median | ms/forward best | GFLOPS median | GFLOPS best |");
        System.out.println("|---|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
        System.out.println();
        System.out.println("% of sgemm = GFLOPS / " + String.format("%.1f", sgemm));
        breakdowns.forEach(System.out::println);
    }

    private static String breakdown(UNetForwardCases c, CallTrace tr) {
        Map<String, Long> byBlock = new TreeMap<>();
        for (CallTrace.NodeRecord r : tr.nodes()) {
            if (r.level() == NodeLevel.BLOCK || r.level() == NodeLevel.STEM) byBlock.put(r.path(), r.macs());
        }
        StringBuilder sb = new StringBuilder(c + " GMAC by block:");
        byBlock.forEach((k, v) -> {
            if (v > 0) sb.append(String.format(" %s=%.2f", k, v / 1e9));
        });
        return sb.toString();
    }

    /** Best-of-{@code reps} OpenBLAS sgemm GFLOPS for an n x n x n product (OpenBLAS uses every core unless OPENBLAS_NUM_THREADS says otherwise). */
    static double sgemmGflops(int n, int reps) {
        try (FloatPointer a = new FloatPointer((long) n * n); FloatPointer b = new FloatPointer((long) n * n);
             FloatPointer cc = new FloatPointer((long) n * n)) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(1);
            for (long i = 0; i < (long) n * n; i++) {
                a.put(i, (float) r.nextDouble());
                b.put(i, (float) r.nextDouble());
            }
            double best = 0;
            for (int i = 0; i < reps + 1; i++) {
                long t0 = System.nanoTime();
                openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasNoTrans, n, n, n,
                        1f, a, n, b, n, 0f, cc, n);
                double s = (System.nanoTime() - t0) / 1e9;
                if (i > 0) best = Math.max(best, 2.0 * n * n * n / s / 1e9);
            }
            return best;
        }
    }
}
