package dev.unet4j.bench;

import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.unet.UNetModel;

import java.util.List;

/**
 * Issue 20's speed target, "every new policy's wall-clock speedup >= 90% of its MACs prediction on SD 1.5 64x64
 * latents, batch 2 with CFG": the Stable Diffusion 1.5 UNet with seeded random weights ({@code CachingTable.sd15Setup}:
 * one image, classifier-free guidance 7.5, a batch-2 UNet call, DDIM {@code --steps}), full compute and each policy
 * timed by {@code CachingTable.table} (one full run at the top, or {@code --paired R} back-to-back pairs per policy),
 * then one line per policy: predicted (MACs) and measured speedup, their ratio and whether it reaches 90%.
 *
 * <pre>
 * PolicySpeedBench [--quick] [--size 64] [--steps 10] [--paired 0] [--policies "p1;;p2"]
 * </pre>
 * The default policies are the new ones at settings that act within {@code --steps}: {@code cfg-cache},
 * {@code tgate:gate-step=G} (G = 2/5 of the steps, T-GATE's 10 of 25), {@code tome},
 * {@code forecast:order=2+deepcache:interval=3,branch=0} and {@code auto:speedup=2} (calibrated by an untimed run
 * first). {@code --quick}: 16x16 latents, 5 steps (a smoke test of the whole path; the small model's times say
 * nothing about 512 px).
 */
public final class PolicySpeedBench {
    private PolicySpeedBench() {
    }

    static List<String> defaultPolicies(int steps) {
        return List.of("cfg-cache", "tgate:gate-step=" + Math.max(1, steps * 2 / 5), "tome",
                "forecast:order=2+deepcache:interval=3,branch=0", "auto:speedup=2");
    }

    public static void main(String[] args) {
        int size = 64, steps = 10, paired = 0;
        List<String> policies = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> {
                    size = 16;
                    steps = 5;
                }
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--paired" -> paired = Integer.parseInt(args[++i]);
                case "--policies" -> policies = List.of(args[++i].split(";;"));
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; valid: --quick, --size, --steps, --paired, --policies");
            }
        }
        if (policies == null) policies = defaultPolicies(steps);
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = new DnnlKernels(); UNetModel m = UNetForwardCases.Arch.SD15.build(kernels)) {
            System.out.printf("ISA %s, %d cores, load average %s%n", CpuFeatures.isa(), Runtime.getRuntime().availableProcessors(),
                    QuantTable.loadAverage());
            List<CachingTable.Measured> rows = CachingTable.table(CachingTable.sd15Setup(m, size, steps), policies, false, false, 1, paired);
            System.out.println();
            System.out.println("| policy | predicted (MACs) | measured | measured / predicted | >= 90% |");
            System.out.println("|---|---|---|---|---|");
            for (CachingTable.Measured r : rows) {
                System.out.printf("| %s | %.2fx | %.2fx | %.0f%% | %s |%n", r.policy(), r.predicted(), r.wall(), 100 * r.wallOverPredicted(),
                        r.wallOverPredicted() >= 0.9 ? "yes" : "no");
            }
        }
        System.out.printf("load average at end %s; %.0f s in all%n", QuantTable.loadAverage(), (System.nanoTime() - t0) / 1e9);
    }
}
