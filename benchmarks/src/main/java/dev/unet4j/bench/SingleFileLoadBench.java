package dev.unet4j.bench;

import dev.unet4j.core.io.DType;
import dev.unet4j.core.io.Float16;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.checkpoint.LdmUNetKeys;
import dev.unet4j.pipeline.checkpoint.SingleFileCheckpoint;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.UNet2DConditionModel;
import dev.unet4j.unet.config.UNet2DConditionConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Loading a Stable Diffusion 1.5 UNet from an F16 single file in the original layout ({@code model.diffusion_model.*},
 * 1.7 GB; seeded weights written here, streamed one tensor at a time): load time and peak resident memory. The
 * loader decodes F16 to float32 one tensor at a time, so the process never holds more than the model's one float32
 * copy plus one tensor: the bound checked is peak anonymous RSS (sampled every 2 ms) &lt;= float32 weights + 1 GB
 * (JVM, oneDNN, buffers). The load runs in a fresh child JVM ({@code -Xmx1g}: the decoded tensors are garbage the
 * collector may otherwise let pile up) so that the writer's memory does not count.
 *
 * <p>Run: {@code java -cp benchmarks/target/benchmarks.jar dev.unet4j.bench.SingleFileLoadBench [--quick] [--runs 3]}.
 * {@code --quick}: a quarter-size UNet (channels halved, 215M parameters), one run.
 */
public final class SingleFileLoadBench {
    private static final long HEADROOM = 1_000_000_000L;

    private SingleFileLoadBench() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        int runs = 3;
        Path load = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--load" -> load = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--quick, --runs N)");
            }
        }
        if (quick) runs = 1;
        String config = config(quick);
        if (load != null) {
            loadOnce(load, config);
            return;
        }
        Path file = Files.createTempFile("sd15-unet-f16", ".safetensors");
        try {
            long t0 = System.nanoTime();
            long params = write(file, config);
            System.out.printf(Locale.ROOT, "wrote %s: %,d parameters, %,d bytes (F16) in %.1f s; load %s%n", file, params, Files.size(file),
                    (System.nanoTime() - t0) / 1e9, QuantTable.loadAverage());
            for (int r = 0; r < runs; r++) {
                List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                        "-Xmx1g", "-cp", System.getProperty("java.class.path"), SingleFileLoadBench.class.getName(), "--load", file.toString()));
                if (quick) cmd.add("--quick");
                Process p = new ProcessBuilder(cmd).inheritIO().start();
                if (p.waitFor() != 0) throw new IllegalStateException("the load run failed (exit " + p.exitValue() + ")");
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    static String config(boolean quick) {
        String c = UNetForwardCases.Arch.SD15.config;
        return quick ? c.replace("[320, 640, 1280, 1280]", "[160, 320, 640, 640]") : c;
    }

    /** Writes the UNet's seeded weights as F16 under their LDM names; returns the parameter count. */
    static long write(Path file, String json) throws IOException {
        UNet2DConditionConfig config = UNet2DConditionConfig.fromJson(json);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        RandomParameterSource random = new RandomParameterSource(1234);
        ParameterSource recording = new ParameterSource() {
            @Override
            public Tensor load(String name, long[] shape) {
                Tensor t = random.load(name, shape);
                if (t != null) shapes.put(name, shape.clone());
                return t;
            }

            @Override
            public Set<String> names() {
                return Set.of();
            }
        };
        try (DnnlKernels k = new DnnlKernels();
             UNet2DConditionModel m = UNet2DConditionModel.build(config, recording, "seeded", LoadOptions.of(k))) {
            m.parameterCount(); // built only to learn the parameter names and shapes
        }
        boolean[] upAttention = new boolean[config.upBlockTypes().size()];
        for (int i = 0; i < upAttention.length; i++) upAttention[i] = config.upBlockTypes().get(i).startsWith("CrossAttn");
        SafetensorsWriter w = new SafetensorsWriter();
        long params = 0;
        for (var e : shapes.entrySet()) {
            String ldm = LdmUNetKeys.ldmName(e.getKey(), config.layersPerBlock(), upAttention);
            if (ldm == null) throw new IllegalStateException("no LDM name for " + e.getKey());
            long n = Tensor.numel(e.getValue());
            params += n;
            w.add(SingleFileCheckpoint.UNET + ldm, DType.F16, e.getValue(), n * 2, out -> {
                try (Tensor t = random.load(e.getKey(), e.getValue())) {
                    float[] v = t.toFloatArray();
                    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                    for (float x : v) b.putShort(Float16.fromFloat(x));
                    b.flip();
                    while (b.hasRemaining()) out.write(b);
                }
            });
        }
        w.write(file);
        return params;
    }

    /** One load in this (fresh) process: time, peak RSS and peak anonymous RSS against the bound. */
    static void loadOnce(Path file, String json) throws Exception {
        UNet2DConditionConfig config = UNet2DConditionConfig.fromJson(json);
        AtomicLong peakAnon = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    peakAnon.accumulateAndGet(MemoryBench.Status.read().anon(), Math::max);
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        });
        sampler.setDaemon(true);
        try (DnnlKernels k = new DnnlKernels()) {
            MemoryBench.Status before = MemoryBench.Status.read();
            sampler.start();
            long t0 = System.nanoTime();
            try (SingleFileCheckpoint ckpt = SingleFileCheckpoint.open(file);
                 UNet2DConditionModel m = UNet2DConditionModel.build(config, ckpt.unet(config), file.toString(), LoadOptions.of(k))) {
                double s = (System.nanoTime() - t0) / 1e9;
                sampler.interrupt();
                sampler.join();
                long weights = m.parameterCount() * Float.BYTES;
                MemoryBench.Status after = MemoryBench.Status.read();
                long anon = Math.max(peakAnon.get(), after.anon());
                System.out.printf(Locale.ROOT, "load %.1f s (%.0f MB/s of F16); float32 weights %.2f GB; before load %s; "
                                + "peak RSS (VmHWM) %.2f GB; peak anon RSS %.2f GB = weights + %.2f GB (bound weights + %.1f GB: %s); load %s%n",
                        s, Files.size(file) / 1e6 / s, weights / 1e9, before, after.hwm() / 1e9, anon / 1e9, (anon - weights) / 1e9,
                        HEADROOM / 1e9, anon <= weights + HEADROOM ? "WITHIN" : "OVER", QuantTable.loadAverage());
                if (anon > weights + HEADROOM) System.exit(1);
            }
        }
    }
}
