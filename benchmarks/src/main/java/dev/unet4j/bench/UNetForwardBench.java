package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
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
 * One UNet forward (oneDNN, float32) of real architectures with seeded random weights: milliseconds per forward (the
 * score), and the achieved GFLOPS (2 x the MACs the session's trace counted, over the measured time) printed after each
 * iteration.
 * {@code java -jar benchmarks/target/benchmarks.jar UNetForwardBench -p workload=SD15_32_B2}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = {"-Xmx8g"})
public class UNetForwardBench {

    @Param({"DDPM_CIFAR10_B1", "DDPM_CIFAR10_B8", "SD15_32_B2", "SD15_64_B2"})
    public UNetForwardCases workload;

    private DnnlKernels kernels;
    private UNetModel model;
    private UNetSession session;
    private UNetForwardCases.Inputs inputs;
    private double gflopPerCall;
    private long calls, nanos;

    @Setup(Level.Trial)
    public void setUp() {
        kernels = new DnnlKernels();
        model = workload.arch.build(kernels);
        session = model.newSession();
        inputs = workload.inputs(model);
        session.forward(inputs.inputs()).close();
        gflopPerCall = 2.0 * session.lastTrace().macsDone() / 1e9;
    }

    @Benchmark
    public float forward() {
        long t0 = System.nanoTime();
        try (Tensor y = session.forward(inputs.inputs())) {
            nanos += System.nanoTime() - t0;
            calls++;
            return y.get(0, 0, 0, 0);
        }
    }

    @TearDown(Level.Iteration)
    public void report() {
        if (calls > 0) {
            System.out.printf("%n%s: %.1f ms/forward, %.2f GFLOP/forward, %.1f GFLOPS%n", workload, nanos / 1e6 / calls,
                    gflopPerCall, gflopPerCall * calls / (nanos / 1e9));
        }
        calls = 0;
        nanos = 0;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        inputs.close();
        session.close();
        model.close();
        kernels.close();
    }
}
