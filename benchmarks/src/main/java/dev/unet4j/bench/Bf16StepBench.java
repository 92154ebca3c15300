package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.Interceptors;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * bf16 compute vs float32 per Stable Diffusion 1.5 step (issue 20's "bf16 >= 1.5x faster per SD 1.5 step where the CPU
 * has bf16 instructions"): the SD 1.5 UNet with seeded random weights built twice, on exact float32 oneDNN kernels and
 * on bf16-compute ones, one batch-2 call (CFG) at {@code --size} latents each, alternating which runs first, with the
 * time inside each kind of node (resnets, attn1, attn2, feed-forwards, the rest of the transformers, resamplers), so a
 * ratio below target says where bf16 loses. Prints the ISA oneDNN dispatches to and what bf16 compute means on it.
 *
 * <pre>
 * Bf16StepBench [--size 64] [--pairs 2] [--warm 1] [--quick (16x16)]
 * </pre>
 */
public final class Bf16StepBench {
    private Bf16StepBench() {
    }

    /** The kinds timed; TRANSFORMER includes its attn1/attn2/ff, separated when printed. */
    static final List<NodeKind> KINDS = List.of(NodeKind.RESNET, NodeKind.TRANSFORMER, NodeKind.ATTN1, NodeKind.ATTN2,
            NodeKind.FEED_FORWARD, NodeKind.DOWNSAMPLER, NodeKind.UPSAMPLER);

    /** Nanoseconds per node kind over the calls it watched. */
    static final class KindTimer implements NodeInterceptor {
        final Map<NodeKind, Long> nanos = new EnumMap<>(NodeKind.class);

        @Override
        public Tensor intercept(NodeCall call) {
            if (!KINDS.contains(call.kind())) return call.proceed();
            long t0 = System.nanoTime();
            Tensor out = call.proceed();
            nanos.merge(call.kind(), System.nanoTime() - t0, Long::sum);
            return out;
        }

        long get(NodeKind k) {
            return nanos.getOrDefault(k, 0L);
        }
    }

    /** One call's wall-clock and its split by node kind. */
    record Timing(long callNanos, KindTimer kinds) {
        /** Seconds: call, resnets, attn1, attn2, ff, transformer rest (norms, projections), resamplers, everything else. */
        double[] parts() {
            long tr = kinds.get(NodeKind.TRANSFORMER), a1 = kinds.get(NodeKind.ATTN1), a2 = kinds.get(NodeKind.ATTN2), ff = kinds.get(NodeKind.FEED_FORWARD);
            long res = kinds.get(NodeKind.RESNET), samp = kinds.get(NodeKind.DOWNSAMPLER) + kinds.get(NodeKind.UPSAMPLER);
            long[] v = {callNanos, res, a1, a2, ff, tr - a1 - a2 - ff, samp, callNanos - res - tr - samp};
            double[] s = new double[v.length];
            for (int i = 0; i < v.length; i++) s[i] = v[i] / 1e9;
            return s;
        }
    }

    static final String[] PARTS = {"whole call", "resnets", "attn1 (self)", "attn2 (cross)", "feed-forward", "transformer rest", "resamplers", "other"};

    static Timing time(UNetModel model, UNetForwardCases c) {
        try (UNetSession s = model.newSession(); UNetForwardCases.Inputs in = c.inputs(model)) {
            KindTimer t = new KindTimer();
            Interceptors.wrap(s, t);
            long t0 = System.nanoTime();
            s.forward(in.inputs()).close();
            return new Timing(System.nanoTime() - t0, t);
        }
    }

    public static void main(String[] args) {
        int size = 64, pairs = 2, warm = 1;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--pairs" -> pairs = Integer.parseInt(args[++i]);
                case "--warm" -> warm = Integer.parseInt(args[++i]);
                case "--quick" -> size = 16;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; valid: --size, --pairs, --warm, --quick");
            }
        }
        UNetForwardCases c = switch (size) {
            case 16 -> UNetForwardCases.SD15_16_B1;
            case 32 -> UNetForwardCases.SD15_32_B2;
            case 64 -> UNetForwardCases.SD15_64_B2;
            default -> throw new IllegalArgumentException("--size is 16 (batch 1), 32 or 64 (batch 2), got " + size);
        };
        long start = System.nanoTime();
        try (DnnlKernels exact = new DnnlKernels(); DnnlKernels bf16 = new DnnlKernels(new DnnlKernels.Options(true));
             UNetModel f = UNetForwardCases.Arch.SD15.build(exact); UNetModel b = UNetForwardCases.Arch.SD15.build(bf16)) {
            System.out.printf("ISA %s; bf16 compute here: %s; %s; %d cores; load average %s%n", CpuFeatures.isa(),
                    CpuFeatures.computeLabel(bf16), c, Runtime.getRuntime().availableProcessors(), QuantTable.loadAverage());
            for (int i = 0; i < warm; i++) {
                time(f, c);
                time(b, c);
            }
            List<double[]> fp = new ArrayList<>(), bp = new ArrayList<>();
            for (int i = 0; i < pairs; i++) {
                Timing tf, tb;
                if (i % 2 == 0) {
                    tf = time(f, c);
                    tb = time(b, c);
                } else {
                    tb = time(b, c);
                    tf = time(f, c);
                }
                fp.add(tf.parts());
                bp.add(tb.parts());
                System.out.printf("pair %d: float32 %.2f s, bf16 %.2f s (%.2fx); load average %s%n", i, tf.callNanos() / 1e9,
                        tb.callNanos() / 1e9, (double) tf.callNanos() / tb.callNanos(), QuantTable.loadAverage());
            }
            System.out.println();
            System.out.println("| part of the call | float32 s | bf16 s | float32 / bf16 (median over pairs) |");
            System.out.println("|---|---|---|---|");
            for (int k = 0; k < PARTS.length; k++) {
                List<Double> ratio = new ArrayList<>();
                double sf = 0, sb = 0;
                for (int i = 0; i < pairs; i++) {
                    sf += fp.get(i)[k];
                    sb += bp.get(i)[k];
                    ratio.add(fp.get(i)[k] / bp.get(i)[k]);
                }
                System.out.printf("| %s | %.2f | %.2f | %.2fx |%n", PARTS[k], sf / pairs, sb / pairs, ToMeBench.median(ratio));
            }
        }
        System.out.printf("load average at end %s; %.0f s in all%n", QuantTable.loadAverage(), (System.nanoTime() - start) / 1e9);
    }
}
