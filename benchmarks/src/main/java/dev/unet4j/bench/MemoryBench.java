package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Peak resident memory of a Stable Diffusion 1.5 UNet generation: float32 seeded random weights built in-process,
 * then {@code steps} denoising evaluations at 64x64 latents, batch 2 (one classifier-free-guidance step each). The
 * bound is one resident copy of the weights + 1.5 GB for activations, workspaces, the JVM and the native libraries.
 *
 * <p>Prints the weights' bytes, the process's peak RSS ({@code VmHWM} from {@code /proc/self/status}) after loading and
 * after the steps, live native tensor bytes, and the ratio of the peak to the bound. Exit status 1 when over the bound.
 * Usage: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.MemoryBench [steps]} (default 2).
 */
public final class MemoryBench {
    private static final long HEADROOM = 1_500_000_000L;

    private MemoryBench() {
    }

    public static void main(String[] args) throws IOException {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 2;
        UNetForwardCases c = UNetForwardCases.SD15_64_B2;
        Status start = Status.read();
        System.out.printf("start: %s%n", start);
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = new DnnlKernels(); UNetModel model = c.arch.build(kernels)) {
            long weights = model.parameterCount() * Float.BYTES;
            Status loaded = Status.read();
            System.out.printf("loaded %s in %.1f s: %,d parameters = %,d weight bytes; native tensors live %,d bytes; %s%n",
                    c.arch, (System.nanoTime() - t0) / 1e9, model.parameterCount(), weights, NativeBuffer.liveBytes(), loaded);
            try (UNetSession session = model.newSession(); UNetForwardCases.Inputs in = c.inputs(model)) {
                for (int s = 0; s < steps; s++) {
                    long t = System.nanoTime();
                    try (Tensor out = session.forward(in.inputs())) {
                        System.out.printf("step %d (%s): %.1f s, output %s; session pool %,d bytes (peak %,d); %s%n", s, c,
                                (System.nanoTime() - t) / 1e9, out, session.allocator().pooledBytes() + session.allocator().outstandingBytes(),
                                session.allocator().peakBytes(), Status.read());
                    }
                }
            }
            Status end = Status.read();
            long bound = weights + HEADROOM;
            System.out.printf("weights %,d bytes (%.2f GB); peak RSS (VmHWM) %,d bytes (%.2f GB), after load %,d bytes (%.2f GB); "
                            + "bound weights + 1.5 GB = %,d bytes; peak/bound = %.3f -> %s%n",
                    weights, weights / 1e9, end.hwm, end.hwm / 1e9, loaded.hwm, loaded.hwm / 1e9, bound, end.hwm / (double) bound,
                    end.hwm <= bound ? "WITHIN" : "OVER");
            if (end.hwm > bound) System.exit(1);
        }
    }

    /** The resident-memory lines of {@code /proc/self/status}, in bytes. */
    record Status(long rss, long hwm, long anon, long file) {
        static Status read() throws IOException {
            long rss = 0, hwm = 0, anon = 0, file = 0;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) rss = kb(line);
                else if (line.startsWith("VmHWM:")) hwm = kb(line);
                else if (line.startsWith("RssAnon:")) anon = kb(line);
                else if (line.startsWith("RssFile:")) file = kb(line);
            }
            return new Status(rss, hwm, anon, file);
        }

        private static long kb(String line) {
            return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }

        @Override
        public String toString() {
            return String.format("RSS %.2f GB (anon %.2f, file %.2f), peak %.2f GB", rss / 1e9, anon / 1e9, file / 1e9, hwm / 1e9);
        }
    }
}
