package dev.unet4j.bench;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Linear;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import org.bytedeco.openblas.global.openblas;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Kernel workloads at Stable Diffusion 1.5 shapes (512x512 images: 64x64 latents, batch 2 for classifier-free
 * guidance), each with the plain GEMMs of the same size so OpenBLAS sgemm can be timed as the yardstick.
 */
public final class KernelWorkloads {
    private KernelWorkloads() {
    }

    /** One row-major sgemm {@code C[m,n] = A[m,k] op(B)}, repeated {@code batch} times. */
    public record Gemm(int batch, int m, int n, int k, boolean transposeB) {
        public double flops() {
            return 2.0 * batch * m * n * k;
        }
    }

    public enum Kind {CONV, LINEAR, MATMUL, ATTENTION}

    /**
     * @param name  row label
     * @param kind  which kernel runs
     * @param dims  kind-specific sizes: CONV {batch, in, out, kernel, size}; LINEAR {rows, in, out};
     *              MATMUL {batch, m, n, k, transposeB 0/1}; ATTENTION {batch, tokens q, tokens k, channels, heads}
     * @param gemms the equivalent sgemm work
     */
    public record Workload(String name, Kind kind, int[] dims, List<Gemm> gemms) {
        public double flops() {
            return gemms.stream().mapToDouble(Gemm::flops).sum();
        }

        public String shape() {
            return switch (kind) {
                case CONV -> String.format("[%d,%d,%d,%d] k%d -> %d", dims[0], dims[1], dims[4], dims[4], dims[3], dims[2]);
                case LINEAR -> String.format("[%d,%d] x [%d,%d]^T", dims[0], dims[1], dims[2], dims[1]);
                case MATMUL -> String.format("%d x [%d,%d] x [%d,%d]", dims[0], dims[1], dims[3], dims[3], dims[2]);
                case ATTENTION -> String.format("B%d Tq%d Tk%d C%d H%d", dims[0], dims[1], dims[2], dims[3], dims[4]);
            };
        }
    }

    private static Workload conv(String name, int batch, int in, int out, int kernel, int size) {
        return new Workload(name, Kind.CONV, new int[]{batch, in, out, kernel, size},
                List.of(new Gemm(1, batch * size * size, out, in * kernel * kernel, false)));
    }

    private static Workload linear(String name, int rows, int in, int out) {
        return new Workload(name, Kind.LINEAR, new int[]{rows, in, out}, List.of(new Gemm(1, rows, out, in, true)));
    }

    private static Workload matmul(String name, int batch, int m, int n, int k, boolean transposeB) {
        return new Workload(name, Kind.MATMUL, new int[]{batch, m, n, k, transposeB ? 1 : 0}, List.of(new Gemm(batch, m, n, k, transposeB)));
    }

    private static Workload attention(String name, int batch, int tq, int tk, int channels, int heads) {
        int d = channels / heads;
        return new Workload(name, Kind.ATTENTION, new int[]{batch, tq, tk, channels, heads},
                List.of(new Gemm(batch * heads, tq, tk, d, true), new Gemm(batch * heads, tq, d, tk, false)));
    }

    /** The benchmark set (names are the JMH parameter values). */
    public static List<Workload> sd15() {
        return List.of(
                conv("conv3x3_320_64", 2, 320, 320, 3, 64),
                conv("conv3x3_640_32", 2, 640, 640, 3, 32),
                conv("conv3x3_1280_16", 2, 1280, 1280, 3, 16),
                conv("conv3x3_1280_8", 2, 1280, 1280, 3, 8),
                conv("conv1x1_320_64", 2, 320, 320, 1, 64),
                linear("linear_q_320", 2 * 4096, 320, 320),
                linear("linear_ff1_320x2560", 2 * 4096, 320, 2560),
                linear("linear_ff2_1280x320", 2 * 4096, 1280, 320),
                linear("linear_1280_16", 2 * 256, 1280, 1280),
                matmul("qkT_4096x4096x40", 2, 4096, 4096, 40, true),
                matmul("av_4096x40x4096", 2, 4096, 40, 4096, false),
                matmul("qkT_1024x1024x80", 2, 1024, 1024, 80, true),
                matmul("av_1024x80x1024", 2, 1024, 80, 1024, false),
                matmul("qkT_cross_4096x77x40", 2, 4096, 77, 40, true),
                attention("attention_4096_h8", 2, 4096, 4096, 320, 8),
                attention("attention_cross_4096x77_h8", 2, 4096, 77, 320, 8));
    }

    public static Workload byName(String name) {
        return sd15().stream().filter(w -> w.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no workload named " + name));
    }

    /** A workload bound to inputs, ready to run repeatedly. */
    public interface Runner extends AutoCloseable {
        void run();

        @Override
        void close();
    }

    private static Tensor randn(Random r, long... shape) {
        Tensor t = Tensor.allocate(shape);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 0.5f;
        t.setFrom(v);
        return t;
    }

    private static Tensor randnNhwc(Random r, long n, long c, long h, long w) {
        Tensor t = Tensor.allocateChannelsLast(dev.unet4j.core.tensor.Allocator.direct(), n, c, h, w);
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 0.5f;
        t.setFrom(v);
        return t;
    }

    /** Binds {@code w} on {@code kernels}; every run produces (and frees) its result through {@code ws}. */
    public static Runner kernelRunner(Workload w, Kernels kernels, Workspace ws) {
        Random r = new Random(7);
        int[] d = w.dims();
        List<AutoCloseable> owned = new ArrayList<>();
        Runnable body;
        switch (w.kind()) {
            case CONV -> {
                Conv2dSpec spec = Conv2dSpec.of(d[1], d[2], d[3], 1, d[3] / 2);
                Tensor weight = randn(r, spec.weightShape()), bias = randn(r, d[2]);
                Conv2d conv = kernels.conv2d(spec, weight, bias);
                weight.close();
                bias.close();
                Tensor x = randnNhwc(r, d[0], d[1], d[4], d[4]);
                owned.add(conv);
                owned.add(x);
                body = () -> conv.forward(ws, x).close();
            }
            case LINEAR -> {
                Tensor weight = randn(r, d[2], d[1]), bias = randn(r, d[2]);
                Linear lin = kernels.linear(weight, bias);
                weight.close();
                bias.close();
                Tensor x = randn(r, d[0], d[1]);
                owned.add(lin);
                owned.add(x);
                body = () -> lin.forward(ws, x).close();
            }
            case MATMUL -> {
                boolean tb = d[4] == 1;
                Tensor a = randn(r, d[0], d[1], d[3]);
                Tensor b = tb ? randn(r, d[0], d[2], d[3]) : randn(r, d[0], d[3], d[2]);
                owned.add(a);
                owned.add(b);
                body = () -> kernels.matmul(ws, a, b, tb, 1f).close();
            }
            case ATTENTION -> {
                Tensor q = randn(r, d[0], d[1], d[3]), k = randn(r, d[0], d[2], d[3]), v = randn(r, d[0], d[2], d[3]);
                owned.add(q);
                owned.add(k);
                owned.add(v);
                float scale = (float) (1 / Math.sqrt((double) d[3] / d[4]));
                body = () -> kernels.attention(ws, q, k, v, d[4], scale, null).close();
            }
            default -> throw new IllegalStateException(w.kind().toString());
        }
        return new Runner() {
            @Override
            public void run() {
                body.run();
            }

            @Override
            public void close() {
                for (AutoCloseable c : owned) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
    }

    /** OpenBLAS {@code cblas_sgemm} over the workload's GEMMs (one A/B/C set per shape, reused across the batch). */
    public static Runner sgemmRunner(Workload w) {
        Random r = new Random(8);
        List<Tensor[]> sets = new ArrayList<>();
        for (Gemm g : w.gemms()) {
            sets.add(new Tensor[]{randn(r, g.m(), g.k()), g.transposeB() ? randn(r, g.n(), g.k()) : randn(r, g.k(), g.n()), Tensor.allocate(g.m(), g.n())});
        }
        return new Runner() {
            @Override
            public void run() {
                for (int i = 0; i < w.gemms().size(); i++) {
                    Gemm g = w.gemms().get(i);
                    Tensor[] s = sets.get(i);
                    for (int b = 0; b < g.batch(); b++) {
                        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans,
                                g.transposeB() ? openblas.CblasTrans : openblas.CblasNoTrans, g.m(), g.n(), g.k(), 1f,
                                s[0].pointer(), g.k(), s[1].pointer(), g.transposeB() ? g.k() : g.n(), 0f, s[2].pointer(), g.n());
                    }
                }
            }

            @Override
            public void close() {
                for (Tensor[] s : sets) for (Tensor t : s) t.close();
            }
        };
    }

    /** The classic square yardstick {@code 2048^3}. */
    public static Workload squareSgemm() {
        return new Workload("sgemm_2048", Kind.MATMUL, new int[]{1, 2048, 2048, 2048, 0}, List.of(new Gemm(1, 2048, 2048, 2048, false)));
    }
}
