package dev.unet4j.bench;

import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.QuantizedLayers;
import dev.unet4j.pipeline.lora.LayerCatalog;
import dev.unet4j.pipeline.lora.LoraAdapters;
import dev.unet4j.pipeline.lora.LoraFile;
import dev.unet4j.pipeline.lora.LoraFile.Component;
import dev.unet4j.pipeline.lora.LoraSet;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA cost on the Stable Diffusion 1.5 UNet (seeded random weights, {@link UNetForwardCases#SD15_32_B2}): per-forward
 * time without LoRA, with a rank-32 LoRA on every attention projection (attn1/attn2 to_q/to_k/to_v/to_out.0, 128
 * layers) as side path and merged, on float32 and int8 weights; and the switch time between two LoRA sets (file read
 * excluded: preparing the adapters of a new set).
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.LoraBench [--quick] [--runs 3] [--rank 32]}.
 * {@code --quick}: 16x16 latents, batch 1, one timed run (unless {@code --runs} says otherwise). The merged variant's preparation reads the touched base
 * weights from the seeded source (a checkpoint read in real use). Prints the load average beside the numbers: on a
 * shared machine only the ratios measured in one run mean something.
 */
public final class LoraBench {
    private LoraBench() {
    }

    public static void main(String[] args) throws IOException {
        int runs = -1, rank = 32;
        boolean quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--rank" -> rank = Integer.parseInt(args[++i]);
                case "--quick" -> quick = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--quick, --runs N, --rank R)");
            }
        }
        if (runs < 0) runs = quick ? 1 : 3;
        UNetForwardCases c = quick ? UNetForwardCases.SD15_16_B1 : UNetForwardCases.SD15_32_B2;
        UNet2DConditionConfig config = UNet2DConditionConfig.fromJson(c.arch.config);
        System.out.printf(Locale.ROOT, "SD 1.5 UNet, %dx%d latents, batch %d, rank-%d LoRA on every attention projection, %d threads%n",
                c.size, c.size, c.batch, rank, Runtime.getRuntime().availableProcessors());
        System.out.println("load average at start: " + QuantTable.loadAverage());
        System.out.println("| weights | forward, no LoRA | side path | merged | switch: prepare side path | prepare merged |");
        System.out.println("|---|---|---|---|---|---|");
        for (String scheme : new String[] {"fp32", "int8"}) {
            QuantSpec q = scheme.equals("fp32") ? null : QuantSpec.parse(scheme);
            try (DnnlKernels k = new DnnlKernels(q == null ? DnnlKernels.Options.exact() : q.kernelOptions())) {
                LayerCatalog layers = new LayerCatalog();
                QuantizedLayers ql = QuantizedLayers.of(q, k);
                try (UNetModel unet = UNet2DConditionModel.build(config, new RandomParameterSource(1234), "random SD15",
                        LoadOptions.of(k).withLayerFactory(kk -> layers.recording(ql.factory(kk))));
                     UNetForwardCases.Inputs in = c.inputs(unet)) {
                    Path a = randomLora(layers, rank, 1), b = randomLora(layers, rank, 2);
                    LoraSet setA = LoraSet.of(LoraFile.load(a), 0.8), setB = LoraSet.of(LoraFile.load(b), 0.8);
                    Map<Component, LayerCatalog> cats = Map.of(Component.UNET, layers);
                    double[] sw = new double[3];
                    LoraAdapters side = null;
                    for (int i = 0; i < sw.length; i++) {
                        long t0 = System.nanoTime();
                        LoraAdapters next = LoraAdapters.sidePath(i % 2 == 0 ? setA : setB, k, cats);
                        sw[i] = (System.nanoTime() - t0) / 1e6;
                        if (side != null) side.close();
                        side = next;
                    }
                    long t0 = System.nanoTime();
                    double mergedMs;
                    double[] ms;
                    try (LoraAdapters sideA = side;
                         LoraAdapters m = LoraAdapters.merged(setA, k, cats, Map.of(Component.UNET, new RandomParameterSource(1234)))) {
                        mergedMs = (System.nanoTime() - t0) / 1e6;
                        ms = time(unet, ql, in, new LayerAdapter[] {null, sideA.adapter(Component.UNET), m.adapter(Component.UNET)}, runs);
                    }
                    double none = ms[0], sidePath = ms[1], merged = ms[2];
                    Arrays.sort(sw);
                    System.out.printf(Locale.ROOT, "| %s | %.0f ms | %.0f ms (%.2fx) | %.0f ms (%.2fx) | %.0f ms (%.2f forwards) | %.0f ms |%n",
                            scheme, none, sidePath, sidePath / none, merged, merged / none, sw[1], sw[1] / none, mergedMs);
                    Files.deleteIfExists(a);
                    Files.deleteIfExists(b);
                }
            }
        }
        System.out.println("load average at end: " + QuantTable.loadAverage());
    }

    /**
     * Median forward time in ms of each adapter (null = none), one session each, after one warm-up each; the variants
     * run in turn within every round, so that a change of the machine's load hits them alike.
     */
    static double[] time(UNetModel unet, QuantizedLayers ql, UNetForwardCases.Inputs in, LayerAdapter[] adapters, int runs) {
        double[][] t = new double[adapters.length][runs];
        UNetSession[] sessions = new UNetSession[adapters.length];
        try {
            for (int v = 0; v < adapters.length; v++) {
                sessions[v] = unet.newSession();
                ql.sessionSetup().accept(sessions[v]);
                sessions[v].workspace().attributes().put(LayerAdapter.class, adapters[v]);
                sessions[v].forward(in.inputs()).close();
            }
            for (int i = 0; i < runs; i++) {
                for (int v = 0; v < adapters.length; v++) {
                    long t0 = System.nanoTime();
                    try (Tensor out = sessions[v].forward(in.inputs())) {
                        t[v][i] = (System.nanoTime() - t0) / 1e6;
                    }
                }
            }
        } finally {
            for (UNetSession s : sessions) if (s != null) s.close();
        }
        double[] median = new double[adapters.length];
        for (int v = 0; v < adapters.length; v++) {
            Arrays.sort(t[v]);
            median[v] = t[v][runs / 2];
        }
        return median;
    }

    /** A kohya file with a rank-{@code rank} LoRA (F16, alpha = rank) on every attention projection of {@code layers}. */
    static Path randomLora(LayerCatalog layers, int rank, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        int n = 0;
        for (String block : new String[] {"down_blocks.0", "down_blocks.1", "down_blocks.2", "up_blocks.1", "up_blocks.2", "up_blocks.3", "mid_block"}) {
            for (int a = 0; a < 3; a++) {
                for (String attn : new String[] {"attn1", "attn2"}) {
                    for (String proj : new String[] {"to_q", "to_k", "to_v", "to_out.0"}) {
                        String path = block + ".attentions." + a + ".transformer_blocks.0." + attn + "." + proj;
                        LayerCatalog.Layer l = layers.get(path);
                        if (l == null) continue;
                        float[] down = new float[rank * l.in()], up = new float[l.out() * rank];
                        for (int i = 0; i < down.length; i++) down[i] = (float) (r.nextDouble() - 0.5) * 0.02f;
                        for (int i = 0; i < up.length; i++) up[i] = (float) (r.nextDouble() - 0.5) * 0.02f;
                        String name = "lora_unet_" + path.replace('.', '_');
                        w.add(name + ".lora_down.weight", down, rank, l.in()).add(name + ".lora_up.weight", up, l.out(), rank)
                                .add(name + ".alpha", new float[] {rank});
                        n++;
                    }
                }
            }
        }
        if (n != 128) throw new IllegalStateException("expected 128 attention projections, found " + n);
        Path f = Files.createTempFile("lora-bench", ".safetensors");
        w.write(f);
        return f;
    }
}
