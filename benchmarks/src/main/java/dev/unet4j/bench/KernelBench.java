package dev.unet4j.bench;

import dev.unet4j.bench.KernelWorkloads.Runner;
import dev.unet4j.bench.KernelWorkloads.Workload;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.PoolingAllocator;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * JMH: oneDNN kernels at Stable Diffusion 1.5 shapes against OpenBLAS sgemm of the same GEMM size, in the same run.
 * The primary score is calls per second; the {@code mflop} secondary result is MFLOP/s (divide by 1000 for GFLOPS).
 * Run: {@code java -jar benchmarks/target/benchmarks.jar KernelBench -p workload=conv3x3_320_64}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class KernelBench {

    @Param({"conv3x3_320_64", "conv3x3_640_32", "conv3x3_1280_16", "conv3x3_1280_8", "conv1x1_320_64",
            "linear_q_320", "linear_ff1_320x2560", "linear_ff2_1280x320", "linear_1280_16",
            "qkT_4096x4096x40", "av_4096x40x4096", "qkT_1024x1024x80", "av_1024x80x1024", "qkT_cross_4096x77x40",
            "attention_4096_h8", "attention_cross_4096x77_h8"})
    public String workload;

    /** "f32" (exact) or "bf16" (dnnl_fpmath_mode_bf16). */
    @Param({"f32", "bf16"})
    public String precision;

    private Workload w;
    private DnnlKernels kernels;
    private PoolingAllocator pool;
    private Workspace ws;
    private Runner dnnl;
    private Runner sgemm;

    /** Counts MFLOP done per benchmark call; JMH reports it as MFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public long mflop;
    }

    @Setup(Level.Trial)
    public void setUp() {
        w = KernelWorkloads.byName(workload);
        kernels = new DnnlKernels(new DnnlKernels.Options("bf16".equals(precision)));
        pool = new PoolingAllocator();
        ws = kernels.newWorkspace(pool);
        dnnl = KernelWorkloads.kernelRunner(w, kernels, ws);
        sgemm = KernelWorkloads.sgemmRunner(w);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dnnl.close();
        sgemm.close();
        ws.close();
        pool.close();
        kernels.close();
    }

    @Benchmark
    public void onednn(Flops f) {
        dnnl.run();
        f.mflop += (long) (w.flops() / 1e6);
    }

    @Benchmark
    public void openblasSgemm(Flops f) {
        sgemm.run();
        f.mflop += (long) (w.flops() / 1e6);
    }
}
