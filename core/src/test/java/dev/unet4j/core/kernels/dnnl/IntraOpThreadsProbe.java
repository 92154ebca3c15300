package dev.unet4j.core.kernels.dnnl;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.NativeThreads;

import java.util.Arrays;
import java.util.Random;

/**
 * Run by {@link IntraOpThreadsTest} in a Java 22+ child JVM: the same convolution on one thread per requested count,
 * each with kernels set to that many intra-op threads. Prints per count the thread's {@code omp_get_max_threads()}
 * and its OpenMP team (native threads named like it: libgomp workers inherit their creator's name), then whether
 * the outputs are bit-identical and their error against the plain-Java reference.
 */
public final class IntraOpThreadsProbe {
    static final Conv2dSpec SPEC = Conv2dSpec.of(32, 32, 3, 1, 1);
    static final long[] SHAPE = {1, 32, 40, 40};

    public static void main(String[] args) throws Exception {
        int defaultMax = IntraOpThreads.currentThreadMax();
        float[][] outputs = new float[args.length][];
        for (int i = 0; i < args.length; i++) {
            int threads = Integer.parseInt(args[i]);
            int slot = i;
            String name = "omp-probe-" + threads;
            Thread t = new Thread(() -> {
                try (DnnlKernels k = new DnnlKernels(DnnlKernels.Options.exact().withIntraOpThreads(threads))) {
                    outputs[slot] = forward(k);
                    System.out.println("threads=" + threads + " max=" + IntraOpThreads.currentThreadMax() + " team=" + NativeThreads.named(name));
                }
            }, name);
            t.start();
            t.join();
        }
        float[] want = forward(new ReferenceKernels());
        boolean identical = true;
        double err = 0;
        for (float[] o : outputs) {
            identical &= Arrays.equals(o, outputs[0]);
            for (int j = 0; j < o.length; j++) err = Math.max(err, Math.abs(o[j] - want[j]));
        }
        System.out.println("main max=" + IntraOpThreads.currentThreadMax() + " default=" + defaultMax);
        System.out.println("identical=" + identical + " maxAbsErr=" + err);
    }

    static float[] forward(Kernels k) {
        Random r = new Random(18);
        float[] x = new float[(int) Tensor.numel(SHAPE)];
        float[] w = new float[(int) Tensor.numel(SPEC.weightShape())];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() * 0.1);
        try (Tensor xt = Tensor.of(x, SHAPE); Tensor wt = Tensor.of(w, SPEC.weightShape());
             Workspace ws = k.newWorkspace(Allocator.direct()); Conv2d conv = k.conv2d(SPEC, wt, null);
             Tensor y = conv.forward(ws, xt)) {
            return y.toFloatArray();
        }
    }
}
