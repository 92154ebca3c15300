package dev.unet4j.bench;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.caching.policy.AutoCalibration;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.pipeline.PipelineOptions;
import dev.unet4j.pipeline.StableDiffusion;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.UNetSession;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The fastest combination of caching (and W8A8) on the trained text demo {@code digits-text-32} at a fidelity floor:
 * every composition of a guidance-aware policy (CFG-Cache, T-GATE), a reuse cache (DeepCache, TaylorSeer forecasting
 * on it, adaptive, auto-calibrated) and ToMe, on the float32 UNet and on a W8A8 copy, is run once from the same noise
 * as {@code CachingTable.textSetup} (DDIM 25, guidance 3, ten prompts) and scored by the PSNR of its decoded images
 * against full float32 compute; the {@code --top} of those at or above the floor with the fewest MACs (a W8A8 one
 * next to its float32 twin) are timed as the median of {@code --paired} back-to-back pairs (float32 full compute and
 * the candidate, alternating which runs first).
 *
 * <pre>
 * TextRecipeSearch [--text PATH] [--min-psnr 30] [--top 6] [--paired 9] [--quant int8-w8a8|bf16|none] [--candidates "p1;;p2"]
 * </pre>
 */
public final class TextRecipeSearch {
    private TextRecipeSearch() {
    }

    static final List<String> GUIDANCE = List.of("", "cfg-cache", "cfg-cache:interval=2", "tgate:gate-step=5", "tgate:gate-step=8",
            "tgate:gate-step=10", "tgate:gate-step=12", "tgate:gate-step=15");
    static final List<String> REUSE = List.of("", "deepcache:interval=2,branch=0", "deepcache:interval=3,branch=0",
            "deepcache:interval=4,branch=0", "deepcache:interval=5,branch=0",
            "forecast:order=1+deepcache:interval=3,branch=0", "forecast:order=1+deepcache:interval=4,branch=0",
            "forecast:order=2+deepcache:interval=3,branch=0", "forecast:order=2+deepcache:interval=4,branch=0",
            "forecast:order=2+deepcache:interval=5,branch=0", "forecast:order=2+deepcache:interval=6,branch=0",
            "adaptive:threshold=0.2,warmup=1,cooldown=3,max-run=5", "auto:speedup=2", "auto:speedup=3", "auto:speedup=4");
    static final List<String> MERGE = List.of("", "tome");

    /** Every composition, guidance-aware part outermost and ToMe last (as the policies' docs ask). */
    static List<String> grid() {
        List<String> out = new ArrayList<>();
        for (String g : GUIDANCE) {
            for (String r : REUSE) {
                for (String m : MERGE) {
                    String spec = String.join("+", java.util.stream.Stream.of(g, r, m).filter(x -> !x.isEmpty()).toList());
                    out.add(spec.isEmpty() ? "none" : spec);
                }
            }
        }
        return out;
    }

    /** One candidate on one UNet: its fidelity and MACs. */
    record Candidate(String unet, String policy, double psnr, double macsFraction) {
    }

    public static void main(String[] args) throws IOException {
        Path text = Path.of("testdata/models/digits-text-32");
        double minPsnr = 30;
        int top = 6, paired = 9;
        String quant = "int8-w8a8";
        List<String> candidates = grid();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--text" -> text = Path.of(args[++i]);
                case "--min-psnr" -> minPsnr = Double.parseDouble(args[++i]);
                case "--top" -> top = Integer.parseInt(args[++i]);
                case "--paired" -> paired = Integer.parseInt(args[++i]);
                case "--quant" -> quant = args[++i];
                case "--candidates" -> candidates = List.of(args[++i].split(";;"));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; valid: --text, --min-psnr, --top, --paired, --quant, --candidates");
            }
        }
        System.out.printf("load average at start: %s; %d candidates per UNet%n", QuantTable.loadAverage(), candidates.size());
        QuantSpec spec = quant.equals("none") ? null : QuantSpec.parse(quant);
        try (DnnlKernels kernels = new DnnlKernels();
             // bf16 compute is a property of the kernels: the quantized UNet gets its own
             DnnlKernels qKernels = spec == null ? null : new DnnlKernels(spec.kernelOptions());
             StableDiffusion sd = StableDiffusion.load(text, PipelineOptions.defaults().withKernels(kernels))) {
            CachingTable.Setup f32 = CachingTable.textSetup(sd, sd.unet(), "float32");
            QuantSpec.Loaded q = spec == null ? null : spec.load(text.resolve("unet"), qKernels, null);
            try (UNetSession fs = f32.model().newSession(); UNetSession qs = q == null ? null : q.model().newSession()) {
                if (q != null) q.configure(qs);
                CachingTable.Setup qSetup = q == null ? null : CachingTable.textSetup(sd, q.model(), quant);
                CachingTable.Run full = CachingTable.generate(f32, fs, CachePolicies.NONE, f32.steps());
                float[] ref = f32.image().apply(full.sample());
                List<Candidate> passed = new ArrayList<>();
                System.out.println();
                System.out.println("| UNet | policy | UNet MACs vs full | PSNR (decoded) dB |");
                System.out.println("|---|---|---|---|");
                for (String c : candidates) {
                    // W8A8 only where float32 compute reaches the floor: quantization adds error, it does not remove any
                    if (score(f32, fs, "float32", c, ref, minPsnr, passed) && qSetup != null) score(qSetup, qs, quant, c, ref, minPsnr, passed);
                }
                // the --top fewest-MACs candidates at the floor (a W8A8 one beside its float32 twin), timed paired: a
                // one-pair first timing of every candidate ranked by noise on a loaded machine (2.5x read as 5x)
                passed.sort(Comparator.comparingDouble(Candidate::macsFraction));
                List<Candidate> timed = passed;
                System.out.printf("%n## digits-text-32: the %d fewest-MACs candidates at >= %.0f dB (paired median of %d vs full float32; load average %s)%n%n", top,
                        minPsnr, paired, QuantTable.loadAverage());
                System.out.println("| UNet | policy | UNet MACs vs full | predicted (MACs) | wall-clock vs full float32 (paired) | PSNR (decoded) dB |");
                System.out.println("|---|---|---|---|---|---|");
                for (int i = 0; i < Math.min(top, timed.size()); i++) {
                    Candidate c = timed.get(i);
                    CachingTable.Setup s = c.unet().equals("float32") ? f32 : qSetup;
                    UNetSession ss = c.unet().equals("float32") ? fs : qs;
                    CachingTable.generate(s, ss, CachingTable.policy(c.policy()), s.steps());   // warm
                    double w = CachingTable.pairedSpeedup(f32, fs, s, ss, CachingTable.policy(c.policy()), paired);
                    System.out.printf("| %s | %s | %.1f%% | %.2fx | %.2fx | %.1f |%n", c.unet(), c.policy(), 100 * c.macsFraction(),
                            1 / c.macsFraction(), w, c.psnr());
                }
                System.out.printf("(not timed, at the floor with more MACs: %d candidates)%n", Math.max(0, timed.size() - top));
            } finally {
                if (q != null) q.close();
            }
        }
        System.out.printf("load average at end: %s%n", QuantTable.loadAverage());
    }

    /**
     * One generation of {@code spec} on {@code s}: printed, and kept when its decoded images reach {@code minPsnr}
     * (returns whether they did).
     */
    static boolean score(CachingTable.Setup s, UNetSession session, String unet, String spec, float[] ref, double minPsnr, List<Candidate> passed) {
        CachingTable.Run r;
        try {
            CachePolicy p = CachingTable.policy(spec);
            if (AutoCalibration.calibrates(p)) CachingTable.generate(s, session, p, s.steps());   // the calibration run
            r = CachingTable.generate(s, session, p, s.steps());
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.out.printf("| %s | %s | refused: %s | |%n", unet, spec, e.getMessage());
            return false;
        }
        GenerationReport rep = r.report();
        double macs = (double) rep.macsDone() / rep.fullMacs();
        double psnr = QuantTable.psnrDb(ref, s.image().apply(r.sample()));
        System.out.printf("| %s | %s | %.1f%% | %.1f |%n", unet, spec, 100 * macs, psnr);
        if (psnr < minPsnr) return false;
        passed.add(new Candidate(unet, spec, psnr, macs));
        return true;
    }
}
