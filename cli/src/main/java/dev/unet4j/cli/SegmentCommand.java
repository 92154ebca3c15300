package dev.unet4j.cli;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.image.PngWriter;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.quantization.WeightPrecision;
import dev.unet4j.quantization.nn.QuantizingLayerFactory;
import dev.unet4j.quantization.spec.QuantSpec;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "segment", sortOptions = false, mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = {"Segments an image or a volume with a segmentation UNet (UNet++, MK-UNet) or super-resolves a volume "
                + "(DDoS-UNet), optionally time point after time point.",
                "",
                "2-D: --input image.png (8-bit gray or RGB, scaled to [0, 1]; H and W divisible by 32) or a safetensors file with x; "
                        + "per-class masks (probability > threshold: sigmoid for one class, softmax over several) as PNG, "
                        + "NAME-cK.png per class and NAME-bN-... per batch item when there are several, or as tensors "
                        + "(output, probability, mask) in a .safetensors --out.",
                "3-D: --input volume.safetensors with x [B, C, D, H, W]; --out .safetensors with output (and probability, "
                        + "mask for segmentation). DDoS-UNet with --prior P.safetensors (tensor prior [1, 1, D, H, W]): x holds "
                        + "the low-resolution time points [T, 1, D, H, W] on the target grid, each output becomes the next "
                        + "time point's prior, and output is [T, 1, D, H, W]."},
        footerHeading = "%nExamples:%n",
        footer = {
                "  unet4j segment --model ./mkunet --input scan.png --out mask.png --threshold 0.5",
                "  unet4j segment --model ./ddos --input lowres_series.safetensors --prior first.safetensors --out sr.safetensors"})
final class SegmentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "folder with config.json and model.safetensors (UNet++, MK-UNet, DDoS-UNet).")
    String model;

    @Option(names = "--input", paramLabel = "IN", required = true, description = "image.png, or a .safetensors file with tensor x.")
    Path input;

    @Option(names = "--out", paramLabel = "OUT", required = true, description = "mask.png (2-D) or out.safetensors.")
    Path out;

    @Option(names = "--threshold", paramLabel = "P", defaultValue = "0.5", description = "Probability above which a pixel is in the mask. Default: ${DEFAULT-VALUE}.")
    double threshold;

    @Option(names = "--prior", paramLabel = "P", description = "DDoS-UNet: safetensors with tensor prior [1, 1, D, H, W]; runs x's time points in order.")
    Path prior;

    @Option(names = "--quant", paramLabel = "SPEC", description = "Weight quantization of the 2-D convolutions: int8, int8-w8a8, fp8-e4m3, fp8-e5m2, dr:N. Default: none.")
    String quant;

    @Override
    public Integer call() throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        common.checkThreads(err);
        if (!(threshold >= 0 && threshold <= 1)) throw new UserException("--threshold " + threshold + ": expected a probability in [0, 1]");
        if (!ZooForward.isZooModel(model)) {
            throw new UserException("--model " + model + ": segment needs a config.json with _class_name Generic_UNetPlusPlus, MK_UNet or UNet (DDoS)");
        }
        String outName = out.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean png = outName.endsWith(".png");
        if (!png && !outName.endsWith(".safetensors")) throw new UserException("--out " + out + ": write a .png mask or a .safetensors file");
        QuantSpec q = LoadedModel.parseQuant(quant);
        long t0 = System.nanoTime();
        try (DnnlKernels kernels = LoadedModel.kernelsFor(q)) {
            QuantizingLayerFactory f = ZooForward.factory(q, kernels);
            LoadOptions options = f == null ? LoadOptions.of(kernels) : LoadOptions.of(kernels).withLayerFactory(k -> f);
            try (ZooModel<?> m = ZooModel.load(Path.of(model), options); ZooSession s = m.newSession()) {
                if (png && m.inputRank() != 4) throw new UserException("--out " + out + ": " + m.className() + " works on volumes; write a .safetensors file");
                if (prior != null && !(m instanceof DdosUNet3D)) throw new UserException("--prior applies to DDoS-UNet, not to " + m.className());
                List<Tensor> owned = new ArrayList<>();
                try {
                    Tensor x = readInput(m, owned);
                    // mixed: calibrates on the input itself (a DDoS series' frames are not model inputs until paired with a prior)
                    if (f != null) s.workspace().attributes().put(WeightPrecision.class, ZooForward.precision(q, f, m, Path.of(model), kernels, prior == null ? x : null));
                    Tensor output = run(m, s, x, owned);
                    boolean segmentation = !(m instanceof DdosUNet3D);
                    Tensor probability = segmentation ? probabilities(m, s, output, owned) : null;
                    Path parent = out.toAbsolutePath().getParent();
                    if (parent != null) Files.createDirectories(parent);
                    int files = png ? writePngs(probability) : writeTensors(output, probability);
                    if (!common.quiet) {
                        PrintWriter stdout = spec.commandLine().getOut();
                        stdout.printf(Locale.ROOT, "wrote %d file%s (%s) in %.1f s%n", files, files == 1 ? "" : "s", out, (System.nanoTime() - t0) / 1e9);
                        stdout.flush();
                    }
                } catch (IllegalArgumentException e) {
                    throw new UserException(e.getMessage());
                } finally {
                    owned.forEach(Tensor::close);
                }
            }
        }
        return Main.EXIT_OK;
    }

    /** The model's prediction: {@code output}, UNet++'s full head {@code output.0}, or the DDoS series. */
    private Tensor run(ZooModel<?> m, ZooSession s, Tensor x, List<Tensor> owned) throws IOException {
        if (prior != null) {
            try (TensorFile p = TensorFile.open(prior, "--prior")) {
                p.allowOnly(List.of("prior"));
                if (!p.has("prior")) throw new UserException("--prior " + prior + ": no tensor 'prior'");
                Tensor pr = p.floatTensor("prior", 5);
                owned.add(pr);
                List<Tensor> points = new ArrayList<>();
                for (long t = 0; t < x.dim(0); t++) {
                    Tensor v = x.narrow(0, t, 1).copy(dev.unet4j.core.tensor.Allocator.direct());
                    owned.add(v);
                    points.add(v);
                }
                List<Tensor> outs = ((DdosUNet3D) m).superResolveSeries(s, pr, points);
                owned.addAll(outs);
                long[] shape = outs.get(0).shape();
                shape[0] = outs.size();
                Tensor all = Tensor.allocate(shape);
                owned.add(all);
                float[] dst = new float[(int) all.numel()];
                int per = dst.length / outs.size();
                for (int t = 0; t < outs.size(); t++) System.arraycopy(outs.get(t).toFloatArray(), 0, dst, t * per, per);
                all.setFrom(dst);
                return all;
            }
        }
        Map<String, Tensor> result = s.forward(x);
        owned.addAll(result.values());
        return result.get(m.outputNames().get(0));
    }

    private Tensor readInput(ZooModel<?> m, List<Tensor> owned) throws IOException {
        String name = input.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png")) {
            if (m.inputRank() != 4) throw new UserException("--input " + input + ": " + m.className() + " takes volumes (a .safetensors file with x)");
            BufferedImage img = ImageIO.read(input.toFile());
            if (img == null) throw new UserException("--input " + input + ": not a readable PNG image");
            int c = m.inChannels() == 3 && img.getColorModel().getNumColorComponents() == 1 ? 1 : m.inChannels();
            if (c != 1 && c != 3) throw new UserException("--input " + input + ": " + m.className() + " takes " + m.inChannels() + " channels, a PNG gives 1 or 3");
            int h = img.getHeight(), w = img.getWidth();
            boolean gray = img.getColorModel().getNumColorComponents() == 1;
            // gray PNGs are read from the raster (getRGB would apply a gamma conversion), colour ones as sRGB
            float grayMax = (1 << img.getColorModel().getComponentSize(0)) - 1;
            float[] v = new float[c * h * w];
            for (int y = 0; y < h; y++) {
                for (int xx = 0; xx < w; xx++) {
                    if (gray) {
                        float g = img.getRaster().getSample(xx, y, 0) / grayMax;
                        for (int ch = 0; ch < c; ch++) v[ch * h * w + y * w + xx] = g;
                        continue;
                    }
                    int rgb = img.getRGB(xx, y), r = (rgb >> 16) & 0xFF, g = (rgb >> 8) & 0xFF, b = rgb & 0xFF;
                    if (c == 1) {
                        v[y * w + xx] = Math.round(0.299f * r + 0.587f * g + 0.114f * b) / 255f; // ITU-R 601 luma, as PIL's convert("L")
                    } else {
                        v[y * w + xx] = r / 255f;
                        v[h * w + y * w + xx] = g / 255f;
                        v[2 * h * w + y * w + xx] = b / 255f;
                    }
                }
            }
            Tensor x = Tensor.of(v, 1, c, h, w);
            owned.add(x);
            return x;
        }
        if (!name.endsWith(".safetensors")) throw new UserException("--input " + input + ": expected a .png image or a .safetensors file with x");
        try (TensorFile f = TensorFile.open(input, "--input")) {
            f.allowOnly(List.of("x"));
            if (!f.has("x")) throw new UserException("--input " + input + ": no tensor 'x'");
            Tensor x = f.floatTensor("x", m.inputRank());
            owned.add(x);
            return x;
        }
    }

    /** Class probabilities: sigmoid of one logit, softmax over several (unless UNet++ already applies softmax_helper). */
    private static Tensor probabilities(ZooModel<?> m, ZooSession s, Tensor output, List<Tensor> owned) {
        boolean already = m instanceof GenericUNetPlusPlus u && u.config().finalSoftmax();
        Tensor p;
        if (already) {
            p = output.copy(dev.unet4j.core.tensor.Allocator.direct());
        } else if (output.dim(1) == 1) {
            try (Tensor t = m.kernels().sigmoid(s.workspace(), output)) {
                p = t.copy(dev.unet4j.core.tensor.Allocator.direct());
            }
        } else {
            p = s.run(pass -> {
                try (Tensor t = dev.unet4j.zoo.nn.Tensors.softmaxChannels(pass, output)) {
                    return t.copy(dev.unet4j.core.tensor.Allocator.direct());
                }
            });
        }
        owned.add(p);
        return p;
    }

    private int writePngs(Tensor probability) throws IOException {
        int n = (int) probability.dim(0), classes = (int) probability.dim(1), h = (int) probability.dim(2), w = (int) probability.dim(3);
        float[] p = probability.toFloatArray();
        String file = out.getFileName().toString(), stem = file.substring(0, file.length() - 4);
        int written = 0;
        for (int b = 0; b < n; b++) {
            for (int k = 0; k < classes; k++) {
                byte[] px = new byte[h * w];
                int base = (b * classes + k) * h * w;
                for (int i = 0; i < h * w; i++) px[i] = (byte) (p[base + i] > threshold ? 255 : 0);
                String name = stem + (n > 1 ? "-b" + b : "") + (classes > 1 ? "-c" + k : "") + ".png";
                PngWriter.write(new Image(w, h, 1, px), out.resolveSibling(name));
                written++;
            }
        }
        return written;
    }

    private int writeTensors(Tensor output, Tensor probability) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().order(SafetensorsWriter.Order.INSERTION);
        w.add("output", output);
        if (probability != null) {
            float[] p = probability.toFloatArray();
            for (int i = 0; i < p.length; i++) p[i] = p[i] > threshold ? 1f : 0f;
            w.add("probability", probability);
            w.add("mask", p, probability.shape());
        }
        w.write(out);
        return 1;
    }
}
