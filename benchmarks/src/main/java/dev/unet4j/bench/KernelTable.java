package dev.unet4j.bench;

import dev.unet4j.bench.KernelWorkloads.Runner;
import dev.unet4j.bench.KernelWorkloads.Workload;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.PoolingAllocator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Quick kernel table (no JMH): a few warm-up and timed runs of every {@link KernelWorkloads} workload on oneDNN
 * (float32 and bf16-compute) and of the same-size OpenBLAS sgemm (taking turns, see {@link #seconds}), printed as a
 * markdown table of GFLOPS.
 * Usage: {@code java [-Dunet4j.attentionScoreBytes=N] -cp benchmarks.jar dev.unet4j.bench.KernelTable [reps] [workload names...]}.
 * Threads: oneDNN follows {@code OMP_NUM_THREADS}, OpenBLAS {@code OPENBLAS_NUM_THREADS}; both default to all cores.
 */
public final class KernelTable {
    private static final int WARMUP = 2;
    /**
     * Pause before each timed run. oneDNN (libgomp) and OpenBLAS (its own pthreads) each keep idle workers spinning
     * for a while after a call (OpenBLAS for ~2^28 cycles); without a pause whichever library runs second shares the
     * cores with the other's spinning threads and measures at about half speed.
     */
    private static final long PAUSE_MS = Long.getLong("unet4j.bench.pauseMs", 200);
    private static final double TURN_SECONDS = 0.1;

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        List<Workload> workloads = new ArrayList<>();
        if (args.length > 1) {
            for (String n : Arrays.copyOfRange(args, 1, args.length)) workloads.add(KernelWorkloads.byName(n));
        } else {
            workloads.addAll(KernelWorkloads.sd15());
        }
        long scoreBytes = Long.getLong("unet4j.attentionScoreBytes", DnnlKernels.Options.DEFAULT_ATTENTION_SCORE_BYTES);
        DnnlKernels f32 = new DnnlKernels(new DnnlKernels.Options(false, scoreBytes));
        DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true, scoreBytes));
        System.out.printf("cores: %d, timed reps: %d (median), OMP_NUM_THREADS=%s%n%n", Runtime.getRuntime().availableProcessors(), reps,
                System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"));
        try (Runner square = KernelWorkloads.sgemmRunner(KernelWorkloads.squareSgemm())) {
            System.out.printf("OpenBLAS sgemm 2048^3: %.1f GFLOPS%n%n", KernelWorkloads.squareSgemm().flops() / seconds(reps, square)[0] / 1e9);
        }
        System.out.println("| kernel | shape | GFLOP | oneDNN f32 GFLOPS | sgemm GFLOPS (same GEMM) | f32 % of sgemm | oneDNN bf16 GFLOPS |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|");
        for (Workload w : workloads) {
            double gflop = w.flops() / 1e9;
            double[] t;
            try (PoolingAllocator p1 = new PoolingAllocator(); Workspace ws1 = f32.newWorkspace(p1);
                 PoolingAllocator p2 = new PoolingAllocator(); Workspace ws2 = bf16.newWorkspace(p2);
                 Runner rF32 = KernelWorkloads.kernelRunner(w, f32, ws1); Runner rBf16 = KernelWorkloads.kernelRunner(w, bf16, ws2);
                 Runner blas = KernelWorkloads.sgemmRunner(w)) {
                t = seconds(reps, rF32, blas, rBf16);
            }
            System.out.printf("| %s | %s | %.2f | %.1f | %.1f | %.0f%% | %.1f |%n", w.name(), w.shape(), gflop, gflop / t[0],
                    gflop / t[1], 100 * t[1] / t[0], gflop / t[2]);
        }
        f32.close();
        bf16.close();
    }

    /**
     * Median wall time of one run of each runner over {@code reps} rounds after {@link #WARMUP} untimed ones. The
     * runners take turns within each round, so on a shared machine they see the same background load. Each turn
     * starts with a {@link #PAUSE_MS} pause (so the other library's thread pool is no longer spinning) and one untimed
     * run (so this library's pool is awake), then times enough back-to-back runs to fill about {@link #TURN_SECONDS}:
     * steady-state throughput of each library, not the cost of waking it.
     */
    static double[] seconds(int reps, Runner... runners) {
        int[] inner = new int[runners.length];
        for (int j = 0; j < runners.length; j++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < WARMUP; i++) runners[j].run();
            double once = (System.nanoTime() - t0) / 1e9 / WARMUP;
            inner[j] = (int) Math.max(1, Math.min(50, Math.ceil(TURN_SECONDS / once)));
        }
        double[][] t = new double[runners.length][reps];
        for (int i = 0; i < reps; i++) {
            for (int j = 0; j < runners.length; j++) {
                pause();
                runners[j].run();
                long t0 = System.nanoTime();
                for (int k = 0; k < inner[j]; k++) runners[j].run();
                t[j][i] = (System.nanoTime() - t0) / 1e9 / inner[j];
            }
        }
        double[] median = new double[runners.length];
        for (int j = 0; j < runners.length; j++) {
            Arrays.sort(t[j]);
            median[j] = t[j][reps / 2];
        }
        return median;
    }

    private static void pause() {
        if (PAUSE_MS <= 0) return;
        try {
            Thread.sleep(PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
