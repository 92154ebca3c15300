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
 * (float32 and bf16-compute) and of the same-size OpenBLAS sgemm, printed as a markdown table of GFLOPS.
 * Usage: {@code java [-Dunet4j.attentionScoreBytes=N] -cp benchmarks.jar dev.unet4j.bench.KernelTable [reps] [workload names...]}.
 * Threads: oneDNN follows {@code OMP_NUM_THREADS}, OpenBLAS {@code OPENBLAS_NUM_THREADS}; both default to all cores.
 */
public final class KernelTable {
    private static final int WARMUP = 2;

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
            System.out.printf("OpenBLAS sgemm 2048^3: %.1f GFLOPS%n%n", KernelWorkloads.squareSgemm().flops() / seconds(square, reps) / 1e9);
        }
        System.out.println("| kernel | shape | GFLOP | oneDNN f32 GFLOPS | sgemm GFLOPS (same GEMM) | f32 % of sgemm | oneDNN bf16 GFLOPS |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|");
        for (Workload w : workloads) {
            double gflop = w.flops() / 1e9;
            double tF32 = timeKernel(w, f32, reps), tBf16 = timeKernel(w, bf16, reps), tBlas;
            try (Runner blas = KernelWorkloads.sgemmRunner(w)) {
                tBlas = seconds(blas, reps);
            }
            System.out.printf("| %s | %s | %.2f | %.1f | %.1f | %.0f%% | %.1f |%n", w.name(), w.shape(), gflop, gflop / tF32,
                    gflop / tBlas, 100 * tBlas / tF32, gflop / tBf16);
        }
        f32.close();
        bf16.close();
    }

    private static double timeKernel(Workload w, DnnlKernels kernels, int reps) {
        try (PoolingAllocator pool = new PoolingAllocator(); Workspace ws = kernels.newWorkspace(pool);
             Runner r = KernelWorkloads.kernelRunner(w, kernels, ws)) {
            return seconds(r, reps);
        }
    }

    /** Median wall time of {@code reps} runs after {@link #WARMUP} untimed ones. */
    static double seconds(Runner r, int reps) {
        for (int i = 0; i < WARMUP; i++) r.run();
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
