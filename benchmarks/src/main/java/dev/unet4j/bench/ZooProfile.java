package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where a zoo model's forward spends its time, node by node, through the graph's {@link NodeInterceptor} seam: each
 * named node's self time (its own time less its intercepted children's) summed over the timed calls, and what the
 * model does between nodes (pooling, resizing, the attention products). For the per-primitive split run it with
 * {@code ONEDNN_VERBOSE=profile_exec}.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.ZooProfile [--model mkunet|unetpp|ddos]
 * [--size 256] [--volume D,H,W] [--batch 1] [--reps 10]}; the models and inputs are {@link ZooSideBySide}'s.
 */
public final class ZooProfile {
    private ZooProfile() {
    }

    public static void main(String[] args) throws Exception {
        ZooSideBySide.Args a = ZooSideBySide.Args.parse(args, 10);
        try (DnnlKernels k = new DnnlKernels()) {
            for (ZooSideBySide.Zoo zoo : a.models()) {
                for (int batch : a.batches()) profile(zoo, batch, a, k);
            }
        }
    }

    private static void profile(ZooSideBySide.Zoo zoo, int batch, ZooSideBySide.Args a, DnnlKernels k) throws Exception {
        Map<String, long[]> self = new LinkedHashMap<>(); // path -> {nanos, calls}
        Deque<long[]> children = new ArrayDeque<>();      // per open node: nanos spent in its intercepted children
        boolean[] timing = {false};
        try (ZooModel<?> m = zoo.build(LoadOptions.of(k)); ZooSession s = m.newSession(); Tensor x = zoo.input(m, batch, a)) {
            s.setInterceptor(new NodeInterceptor() {
                @Override
                public Tensor intercept(NodeCall call) {
                    children.push(new long[1]);
                    long t0 = System.nanoTime();
                    Tensor y = call.proceed();
                    long total = System.nanoTime() - t0, inner = children.pop()[0];
                    if (!children.isEmpty()) children.peek()[0] += total;
                    if (timing[0]) {
                        long[] e = self.computeIfAbsent(call.path(), p -> new long[2]);
                        e[0] += total - inner;
                        e[1]++;
                    }
                    return y;
                }
            });
            for (int w = 0; w < a.warmup(); w++) ZooSideBySide.first(s, x);
            timing[0] = true;
            long t0 = System.nanoTime();
            for (int r = 0; r < a.reps(); r++) ZooSideBySide.first(s, x);
            double wall = (System.nanoTime() - t0) / 1e6 / a.reps(), inNodes = 0;
            for (long[] e : self.values()) inNodes += e[0] / 1e6 / a.reps();
            System.out.printf(Locale.ROOT, "%n%s, batch %d: %.1f ms a forward (mean of %d), %.1f ms in named nodes, %.1f ms between them; load %s%n",
                    zoo.label(a), batch, wall, a.reps(), inNodes, wall - inNodes, QuantTable.loadAverage());
            System.out.println("| node | calls/forward | self ms/forward | share |");
            System.out.println("|---|---|---|---|");
            double total = wall;
            self.entrySet().stream().sorted((p, q) -> Long.compare(q.getValue()[0], p.getValue()[0])).forEach(e ->
                    System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.1f%% |%n", e.getKey(), e.getValue()[1] / a.reps(),
                            e.getValue()[0] / 1e6 / a.reps(), 100 * e.getValue()[0] / 1e6 / a.reps() / total));
        }
    }
}
