package dev.unet4j.bench;

import ai.onnxruntime.OrtEnvironment;
import dev.unet4j.bench.onnx.OnnxTracer;
import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.CpuFeatures;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.QuantizedLayers;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;
import dev.unet4j.vae.AutoencoderKL;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The Stable Diffusion 1.5 pipeline's parts on seeded weights made in-process, each next to ONNX Runtime where the
 * issue asks (text encoder and VAE decoder on the same weights, recorded by {@link OnnxTracer} and checked equal
 * within 1e-4 of max|output| before anything is timed):
 * <ol>
 *   <li>{@code text}: the text encoder on one prompt batch {@code [uncond; cond]} of 2 x 77 tokens;</li>
 *   <li>{@code vae}: the VAE decode of {@code [1, 4, 64, 64]} latents to 512x512;</li>
 *   <li>{@code tiled}: a tiled decode of {@code [1, 4, 128, 128]} latents to 1024x1024 in a child JVM
 *       ({@link TiledDecodeMemory}), its peak RSS against the VAE's weight bytes + 1 GB;</li>
 *   <li>{@code unet}: one UNet step at 64x64 latents, batch 2, float32 and int8 W8A8;</li>
 *   <li>{@code image}: a whole 512x512 image (text encode + 25 DDIM steps with guidance 7.5 + decode) in float32, with
 *       a cache policy, and with int8 W8A8 weights and activations.</li>
 * </ol>
 * unet4j and ONNX Runtime alternate ({@code Interleaved}); the medians and the median of the per-turn ratios are
 * printed with the ISA, the thread settings and the load average.
 *
 * <p>Usage: {@code PipelineSideBySide [--quick] [--parts text,vae,tiled,unet,image] [--reps N] [--steps N]
 * [--cache SPEC] [--int8-cache SPEC] [--threads T] [--dir DIR]}. {@code --cache}: the float32 image's second policy;
 * {@code --int8-cache}: a second W8A8 image under this policy (default: none; issue 20's fastest path combines them). {@code --threads} sets ONNX Runtime's intra-op threads (default: every
 * core); oneDNN's are OpenMP's ({@code OMP_NUM_THREADS}), so set both alike (on a heavily loaded machine one thread
 * each: a two-thread OpenMP team waits at every primitive's barrier for a descheduled thread). On Java 17-21 export
 * {@code GOMP_SPINCOUNT=3000} as {@code bin/unet4j} does (docs/threads.md): this main does not relaunch itself. {@code --quick}: 256x256 images (32x32 latents; the tiled decode 512x512 in 256-pixel
 * tiles), 4 steps, 1 rep: a smoke test. Needs ~8 GB of memory for the full run (the float32 UNet is 3.4 GB) and
 * writes ~0.9 GB of ONNX weights under {@code DIR} (default {@code java.io.tmpdir/unet4j-onnx-pipeline}), deleted
 * after use.
 */
public final class PipelineSideBySide {
    /** The largest max|ORT - unet4j| / max|unet4j| accepted. */
    static final double TOLERANCE = 1e-4;
    static final String DEFAULT_CACHE = "deepcache:interval=3,branch=0";
    static final List<String> PARTS = List.of("text", "vae", "tiled", "unet", "image");

    /** Sizes of one run: the full issue's, or {@code --quick}'s. */
    record Sizes(int latent, int tiledLatent, int tilePixels, UNetForwardCases step, int steps, int reps) {
        static Sizes full() {
            return new Sizes(64, 128, 512, UNetForwardCases.SD15_64_B2, 25, 5);
        }

        static Sizes quick() {
            return new Sizes(32, 64, 256, UNetForwardCases.SD15_32_B2, 4, 1);
        }
    }

    private final Sizes sizes;
    private final Path dir;
    private final int threads;
    private final List<String> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    PipelineSideBySide(Sizes sizes, Path dir, int threads) {
        this.sizes = sizes;
        this.dir = dir;
        this.threads = threads;
    }

    public static void main(String[] args) throws Exception {
        Sizes sizes = Sizes.full();
        Set<String> parts = new LinkedHashSet<>(PARTS);
        Integer reps = null, steps = null;
        int threads = Runtime.getRuntime().availableProcessors();
        String cache = DEFAULT_CACHE, int8Cache = "none";
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "unet4j-onnx-pipeline");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> sizes = Sizes.quick();
                case "--parts" -> parts = new LinkedHashSet<>(List.of(args[++i].split(",")));
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--cache" -> cache = args[++i];
                case "--int8-cache" -> int8Cache = args[++i];
                case "--dir" -> dir = Path.of(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + "; valid: --quick, --parts " + String.join(",", PARTS) + ", --reps N, --steps N, --cache SPEC, --int8-cache SPEC, --threads T, --dir DIR");
            }
        }
        for (String p : parts) if (!PARTS.contains(p)) throw new IllegalArgumentException("unknown part " + p + "; parts: " + PARTS);
        if (reps != null || steps != null) {
            sizes = new Sizes(sizes.latent(), sizes.tiledLatent(), sizes.tilePixels(), sizes.step(),
                    steps != null ? steps : sizes.steps(), reps != null ? reps : sizes.reps());
        }
        new PipelineSideBySide(sizes, dir, threads).run(parts, CachePolicies.parse(cache), CachePolicies.parse(int8Cache));
    }

    void run(Set<String> parts, CachePolicy cache, CachePolicy int8Cache) throws Exception {
        long start = System.nanoTime();
        OrtEnvironment.getEnvironment(ai.onnxruntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR); // no line per unused VAE-encoder weight
        Map<String, String> env = System.getenv();
        System.out.printf(Locale.ROOT, "ISA %s; %d cores; oneDNN threads: OMP_NUM_THREADS=%s, GOMP_SPINCOUNT=%s, OMP_WAIT_POLICY=%s;"
                        + " ONNX Runtime %s: %d intra-op threads, sequential, all optimisations; %d alternating turns; load average at start %s%n",
                CpuFeatures.isa(), Runtime.getRuntime().availableProcessors(), env.getOrDefault("OMP_NUM_THREADS", "unset (all cores)"),
                env.getOrDefault("GOMP_SPINCOUNT", "unset"), env.getOrDefault("OMP_WAIT_POLICY", "unset"),
                OrtEnvironment.getEnvironment().getVersion(), threads, sizes.reps(), ServerLoadBench.loadAverage());
        rows.add("| part | unet4j s (median) | ONNX Runtime s (median) | ORT time / unet4j time (median of turns) | max\\|ORT − unet4j\\| / max\\|out\\| |");
        rows.add("|---|---|---|---|---|");
        try (DnnlKernels kernels = new DnnlKernels(); ClipTextModel text = Sd15Parts.textEncoder(kernels); AutoencoderKL vae = Sd15Parts.vae(kernels)) {
            System.out.printf(Locale.ROOT, "text encoder %,d parameters (CLIP ViT-L/14 text: 123,060,480); VAE %,d (SD 1.5: 83,653,863), %.1f MB of weights%n",
                    text.parameters(), vae.parameterCount(), 4e-6 * vae.parameterCount());
            if (parts.contains("text")) textPart(kernels, text);
            if (parts.contains("vae")) vaePart(kernels, vae);
            if (parts.contains("tiled")) tiledPart(vae.parameterCount());
            if (parts.contains("unet") || parts.contains("image")) unetParts(kernels, text, vae, parts, cache, int8Cache);
        }
        System.out.println();
        rows.forEach(System.out::println);
        notes.forEach(System.out::println);
        System.out.printf(Locale.ROOT, "%nload average at end %s; whole run %.0f s%n", ServerLoadBench.loadAverage(), (System.nanoTime() - start) / 1e9);
    }

    // ------------------------------------------------------------------ (a) text encoder

    void textPart(Kernels kernels, ClipTextModel text) throws Exception {
        int[][] ids = Sd15Parts.promptIds();
        try (OrtTwin ort = OrtTwin.trace("text encoder", kernels, dir.resolve("text"), threads, tracer -> traceText(tracer, ids))) {
            float[] ours = encode(text, ids);
            double rel = ort.check(ours, TOLERANCE);
            Interleaved.Times t = Interleaved.time(() -> encode(text, ids), ort::run, sizes.reps());
            row("text encoder, 2 x 77 tokens (" + ort.nodes + " ONNX nodes)", t, rel);
        }
    }

    /** The encoder's forward recorded: the token and position lookups as Gather on {@code input_ids}. */
    static Path traceText(OnnxTracer tracer, int[][] ids) {
        long[][] longIds = new long[ids.length][];
        for (int i = 0; i < ids.length; i++) longIds[i] = java.util.Arrays.stream(ids[i]).asLongStream().toArray();
        try (ClipTextModel m = Sd15Parts.textEncoder(tracer);
             Tensor tokens = Sd15Parts.textTable(Sd15Parts.TOKEN_TABLE, 49408);
             Tensor positions = Sd15Parts.textTable(Sd15Parts.POSITION_TABLE, 77)) {
            tracer.embeddingLookup("input_ids", longIds, tokens, positions);
            try (ClipTextOutput out = m.encode(ids, null, false)) {
                return tracer.finish(out.lastHiddenState());
            }
        }
    }

    static float[] encode(ClipTextModel text, int[][] ids) {
        try (ClipTextOutput out = text.encode(ids, null, false)) {
            return out.lastHiddenState().toFloatArray();
        }
    }

    // ------------------------------------------------------------------ (b) VAE decode

    void vaePart(Kernels kernels, AutoencoderKL vae) throws Exception {
        int l = sizes.latent();
        try (Tensor z = Sd15Parts.latents(l);
             OrtTwin ort = OrtTwin.trace("VAE decode", kernels, dir.resolve("vae"), threads, tracer -> traceDecode(tracer, l))) {
            float[] ours = decode(vae, z);
            double rel = ort.check(ours, TOLERANCE);
            Interleaved.Times t = Interleaved.time(() -> decode(vae, z), ort::run, sizes.reps());
            row("VAE decode, " + l + "x" + l + " latents → " + 8 * l + "x" + 8 * l + " (" + ort.nodes + " ONNX nodes)", t, rel);
        }
    }

    /** The VAE decode recorded; its result leaves the model as a copy, so the graph ends at the last kernel's value. */
    static Path traceDecode(OnnxTracer tracer, int latent) {
        try (AutoencoderKL m = Sd15Parts.vaeAsPublished(tracer); Tensor z = Sd15Parts.latents(latent); Tensor image = m.decode(z)) {
            return tracer.finishWithLastRecorded(image);
        }
    }

    static float[] decode(AutoencoderKL vae, Tensor z) {
        try (Tensor image = vae.decode(z)) {
            return image.toFloatArray();
        }
    }

    // ------------------------------------------------------------------ (c) tiled decode memory

    /**
     * Runs {@link TiledDecodeMemory} in a child JVM with a 256 MB heap (JavaCPP's native limits off), the same class
     * path and environment, and glibc's mmap threshold fixed at {@link TiledDecodeMemory#MMAP_THRESHOLD} unless set.
     */
    void tiledPart(long vaeParameters) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // JavaCPP refuses native allocations past 4 x -Xmx of physical memory unless told otherwise: the RSS is what is measured
        List<String> cmd = List.of(java, "-Xmx256m", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0",
                "-cp", System.getProperty("java.class.path"), TiledDecodeMemory.class.getName(),
                Integer.toString(sizes.tiledLatent()), Integer.toString(sizes.tilePixels()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // glibc raises its mmap threshold to 32 MB after the first large free, so the decoder's 8-32 MB maps then come
        // from the heap, whose freed holes stay resident (~85 MB of a 512-px tile's RSS); a fixed 4 MB threshold maps
        // them and returns them on free. A service embedding the decoder sets the same.
        pb.environment().putIfAbsent("MALLOC_MMAP_THRESHOLD_", Long.toString(TiledDecodeMemory.MMAP_THRESHOLD));
        Process p = pb.start();
        Map<String, String> r = new HashMap<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                if (!line.startsWith(TiledDecodeMemory.PREFIX)) {
                    System.out.println("  [child] " + line);
                    continue;
                }
                for (String kv : line.substring(TiledDecodeMemory.PREFIX.length()).trim().split(" ")) {
                    String[] e = kv.split("=", 2);
                    r.put(e[0], e[1]);
                }
            }
        }
        int rc = p.waitFor();
        if (rc != 0 || !r.containsKey("hwm_kb")) throw new IllegalStateException("the tiled decode child exited " + rc + " without its result line");
        double weightsMb = 4e-6 * vaeParameters, peakMb = Long.parseLong(r.get("hwm_kb")) * 1.024e-3, builtMb = Long.parseLong(r.get("hwm_built_kb")) * 1.024e-3;
        double target = weightsMb + 1000;
        int px = 8 * sizes.tiledLatent();
        rows.add(String.format(Locale.ROOT, "| tiled VAE decode, %dx%d latents → %dx%d, tiles of %d px (child JVM, -Xmx256m) | %s | – | – | "
                        + "peak RSS %.0f MB (%.0f MB after building the VAE); target ≤ weights %.0f MB + 1000 MB = %.0f MB: %s |",
                sizes.tiledLatent(), sizes.tiledLatent(), px, px, sizes.tilePixels(), r.get("seconds"), peakMb, builtMb, weightsMb, target,
                peakMb <= target ? "met" : "NOT met"));
    }

    // ------------------------------------------------------------------ (d) UNet step and whole images

    void unetParts(DnnlKernels kernels, ClipTextModel text, AutoencoderKL vae, Set<String> parts, CachePolicy cache, CachePolicy int8Cache) {
        boolean steps = parts.contains("unet"), images = parts.contains("image");
        List<String> imageRows = new ArrayList<>();
        WholeImage.Times full = null;
        try (UNetModel unet = sizes.step().arch.build(kernels)) {
            System.out.printf(Locale.ROOT, "UNet %,d parameters (SD 1.5: 859,520,964)%n", unet.parameterCount());
            if (steps) step("float32", unet, s -> { });
            if (images) {
                full = image("float32", text, unet, s -> { }, CachePolicies.NONE, vae, imageRows, null);
                image("float32, " + cache.spec(), text, unet, s -> { }, cache, vae, imageRows, full);
            }
        }
        System.gc();
        QuantizedLayers int8 = QuantizedLayers.of(QuantSpec.parse("int8-w8a8"), kernels);
        try (UNetModel unet = UNet2DConditionModel.build(UNet2DConditionConfig.fromJson(UNetForwardCases.Arch.SD15.config),
                new RandomParameterSource(1234), "random SD15 int8-w8a8", LoadOptions.of(kernels).withLayerFactory(int8::factory))) {
            if (steps) step("int8 W8A8", unet, int8.sessionSetup());
            if (images) {
                image("int8 W8A8", text, unet, int8.sessionSetup(), CachePolicies.NONE, vae, imageRows, full);
                if (!int8Cache.spec().equals("none")) image("int8 W8A8, " + int8Cache.spec(), text, unet, int8.sessionSetup(), int8Cache, vae, imageRows, full);
            }
        }
        if (!images) return;
        int px = 8 * sizes.latent();
        notes.add(String.format(Locale.ROOT, "%nWhole %dx%d image (text encode + %d DDIM steps, guidance %.1f, batch 2 + VAE decode), seconds:%n",
                px, px, sizes.steps(), WholeImage.GUIDANCE));
        notes.add("| UNet weights, policy | text encode | " + sizes.steps() + " steps | per step | VAE decode | total | decoded image vs float32 (PSNR) |");
        notes.add("|---|---|---|---|---|---|---|");
        notes.addAll(imageRows);
    }

    /** One UNet call of the step case, median of {@code reps} after two warm calls. */
    void step(String label, UNetModel unet, java.util.function.Consumer<UNetSession> setup) {
        UNetForwardCases c = sizes.step();
        try (UNetSession s = unet.newSession(); UNetForwardCases.Inputs in = c.inputs(unet)) {
            setup.accept(s);
            for (int w = 0; w < 2; w++) s.forward(in.inputs()).close();
            double[] t = new double[sizes.reps()];
            for (int r = 0; r < t.length; r++) {
                Interleaved.pause();
                t[r] = Interleaved.seconds(() -> s.forward(in.inputs()).close());
            }
            rows.add(String.format(Locale.ROOT, "| UNet step %s, %dx%d latents, batch 2 (%s) | %.3f | – | – | – |", label, c.size, c.size, c,
                    Interleaved.median(t)));
        }
    }

    /** A warm-up of two steps (the primitives of every call shape the policy makes), then the timed generation. */
    WholeImage.Times image(String label, ClipTextModel text, UNetModel unet, java.util.function.Consumer<UNetSession> setup,
                           CachePolicy policy, AutoencoderKL vae, List<String> out, WholeImage.Times reference) {
        WholeImage.warmUp(unet, setup, policy, sizes.latent());
        Interleaved.pause();
        WholeImage.Times t = WholeImage.run(text, unet, setup, policy, vae, sizes.latent(), sizes.steps());
        String psnr = reference == null ? "(reference)" : String.format(Locale.ROOT, "%.1f dB", WholeImage.psnr(reference.image(), t.image()));
        out.add(String.format(Locale.ROOT, "| %s | %.2f | %.1f | %.2f | %.2f | %.1f | %s |", label, t.text(), t.denoise(),
                t.denoise() / sizes.steps(), t.decode(), t.total(), psnr));
        System.out.printf(Locale.ROOT, "  image %s: %.1f s (load %s)%n", label, t.total(), ServerLoadBench.loadAverage());
        return t;
    }

    private void row(String part, Interleaved.Times t, double rel) {
        rows.add(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.2f | %.1e |", part, t.medianA(), t.medianB(), t.medianRatio(), rel));
        System.out.printf(Locale.ROOT, "  %s: unet4j %s s, ORT %s s (load %s)%n", part, fmt(t.a()), fmt(t.b()), ServerLoadBench.loadAverage());
    }

    private static String fmt(double[] v) {
        StringBuilder b = new StringBuilder("[");
        for (double x : v) b.append(b.length() > 1 ? ", " : "").append(String.format(Locale.ROOT, "%.3f", x));
        return b.append(']').toString();
    }
}
