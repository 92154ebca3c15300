package dev.unet4j.cli;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.nn.Node;
import dev.unet4j.zoo.MaskAgreement;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/** {@code bench} and {@code inspect} on the zoo's segmentation UNets (UNet++, MK-UNet, DDoS-UNet 3-D). */
final class ZooCommands {
    private ZooCommands() {
    }

    /** The input shape for {@code --size} (HxW, DxHxW or one number; default 256 for 2-D, 32 for 3-D) and {@code --batch}. */
    static long[] inputShape(ZooModel<?> m, String size, int batch) {
        int dims = m.inputRank() - 2;
        long[] s = new long[m.inputRank()];
        s[0] = batch;
        s[1] = m.inChannels();
        if (size == null) {
            Arrays.fill(s, 2, s.length, dims == 2 ? 256 : 32);
            return s;
        }
        String[] p = size.toLowerCase(Locale.ROOT).split("x");
        try {
            if (p.length != 1 && p.length != dims) throw new NumberFormatException();
            for (int d = 0; d < dims; d++) {
                s[2 + d] = Integer.parseInt(p[p.length == 1 ? 0 : d].strip());
                if (s[2 + d] < 1) throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new UserException("--size " + size + ": expected " + (dims == 2 ? "HxW" : "DxHxW") + " or one number for " + m.className());
        }
        return s;
    }

    /** Uniform values in [-1, 1) of {@code shape}, seeded (the same input every run). */
    static Tensor seeded(long[] shape) {
        SplittableRandom r = new SplittableRandom(7);
        float[] v = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return Tensor.of(v, shape);
    }

    /** The model with {@code --quant q}'s layers and the precision its sessions run at (null: float32). */
    private record Loaded(ZooModel<?> model, WeightPrecision precision) implements AutoCloseable {
        @Override
        public void close() {
            model.close();
        }
    }

    private static Loaded load(String folder, QuantSpec q, DnnlKernels kernels) throws IOException {
        QuantizingLayerFactory f = ZooForward.factory(q, kernels);
        ZooModel<?> m = ZooModel.load(Path.of(folder), f == null ? LoadOptions.of(kernels) : LoadOptions.of(kernels).withLayerFactory(k -> f));
        try {
            return new Loaded(m, f == null ? null : ZooForward.precision(q, f, m, Path.of(folder), kernels, null));
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
    }

    record Row(String config, double median, double min, long macs, double relMaxDelta, double dice) {
    }

    /** Times forward on seeded inputs, plain and per {@code --quant}, with the quantized rows' accuracy against float32. */
    static int bench(PrintWriter out, boolean json, String folder, String size, int batch, List<QuantSpec> quants, int iterations, int warmup) throws IOException {
        List<Row> rows = new ArrayList<>();
        long[] shape;
        float[] reference;
        try (DnnlKernels kernels = new DnnlKernels(); Loaded l = load(folder, null, kernels)) {
            ZooModel<?> m = l.model();
            shape = inputShape(m, size, batch);
            Object[] r = measure("float32", m, null, shape, null, iterations, warmup);
            rows.add((Row) r[0]);
            reference = (float[]) r[1];
            emit(out, json, (Row) r[0], m, shape);
        }
        for (QuantSpec q : quants) {
            try (DnnlKernels kernels = LoadedModel.kernelsFor(q); Loaded l = load(folder, q, kernels)) {
                ZooModel<?> m = l.model();
                Row row = (Row) measure("quant " + q.text(), m, l.precision(), shape, reference, iterations, warmup)[0];
                rows.add(row);
                emit(out, json, row, m, shape);
            }
        }
        out.flush();
        return Main.EXIT_OK;
    }

    private static Object[] measure(String label, ZooModel<?> m, WeightPrecision precision, long[] shape, float[] reference, int iterations, int warmup) {
        double[] ms = new double[iterations];
        float[] last = null;
        try (ZooSession s = m.newSession(); Tensor x = seeded(shape)) {
            if (precision != null) s.workspace().attributes().put(WeightPrecision.class, precision);
            String name = m.outputNames().get(0);
            for (int i = 0; i < warmup + iterations; i++) {
                long t0 = System.nanoTime();
                Map<String, Tensor> o;
                try {
                    o = s.forward(x);
                } catch (IllegalArgumentException e) {
                    throw new UserException("--size/--batch " + Arrays.toString(shape) + ": " + e.getMessage());
                }
                if (i >= warmup) ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                if (i == warmup + iterations - 1) last = o.get(name).toFloatArray();
                o.values().forEach(Tensor::close);
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double rel = Double.NaN, dice = Double.NaN;
            if (reference != null) {
                MaskAgreement agreement = MaskAgreement.of(reference, last);
                rel = agreement.relativeMaxDelta();
                dice = agreement.dice();
            }
            return new Object[]{new Row(label, sorted[iterations / 2], sorted[0], s.lastMacs(), rel, dice), last};
        }
    }

    private static void emit(PrintWriter out, boolean json, Row r, ZooModel<?> m, long[] shape) {
        if (json) {
            out.printf(Locale.ROOT, "{\"model\":\"%s\",\"input\":\"%s\",\"config\":\"%s\",\"median_ms\":%.3f,\"min_ms\":%.3f,\"gmacs\":%.4f%s}%n",
                    m.className(), Arrays.toString(shape), r.config(), r.median(), r.min(), r.macs() / 1e9,
                    Double.isNaN(r.relMaxDelta()) ? "" : String.format(Locale.ROOT, ",\"rel_max_delta\":%.5f,\"dice\":%.5f", r.relMaxDelta(), r.dice()));
        } else {
            out.printf(Locale.ROOT, "%-20s %-22s %-18s median %9.2f ms  min %9.2f ms  %8.3f GMAC%s%n", m.className(), Arrays.toString(shape),
                    r.config(), r.median(), r.min(), r.macs() / 1e9,
                    Double.isNaN(r.relMaxDelta()) ? "" : String.format(Locale.ROOT, "  max|d|/max|fp32| %.4f  Dice(logit>0) %.4f", r.relMaxDelta(), r.dice()));
        }
        out.flush();
    }

    /** The class, config, values read, node table and MACs of one call at {@code --size}. */
    static int inspect(PrintWriter out, String folder, String size) throws IOException {
        try (DnnlKernels kernels = new DnnlKernels(); Loaded l = load(folder, null, kernels); ZooSession s = l.model().newSession()) {
            ZooModel<?> m = l.model();
            out.printf(Locale.ROOT, "%s  (%s)%n", m.className(), folder);
            out.printf(Locale.ROOT, "config      %s%n", m.config());
            out.printf(Locale.ROOT, "parameters  %,d values read (weights, biases, BatchNorm running statistics)%n", m.parameterCount());
            out.printf(Locale.ROOT, "outputs     %s%n", String.join(", ", m.outputNames()));
            long[] shape = inputShape(m, size, 1);
            try (Tensor x = seeded(shape)) {
                s.forward(x).values().forEach(Tensor::close);
            } catch (IllegalArgumentException e) {
                throw new UserException("--size: " + e.getMessage());
            }
            out.printf(Locale.ROOT, "MACs        %,d for x %s%n", s.lastMacs(), Arrays.toString(shape));
            out.println("nodes (call order):");
            for (Node n : m.nodes()) {
                out.printf(Locale.ROOT, "  %-28s %-6s %s%n", n.path(), n.level().name().toLowerCase(Locale.ROOT), n.kind().name().toLowerCase(Locale.ROOT));
                for (Node c : n.children()) out.printf(Locale.ROOT, "    %-26s %-6s %s%n", c.path(), c.level().name().toLowerCase(Locale.ROOT), c.kind().name().toLowerCase(Locale.ROOT));
            }
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
