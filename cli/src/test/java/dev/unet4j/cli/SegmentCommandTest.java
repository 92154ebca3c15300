package dev.unet4j.cli;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.zoo.ZooModel;
import dev.unet4j.zoo.ZooSession;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** segment: masks of the fixtures' stored logits, PNG in and out, and DDoS's time series with its prior. */
class SegmentCommandTest {
    @TempDir
    Path dir;

    /** The fixture's stored logits thresholded at probability 0.5 (logit 0) are the mask, as tensors and as PNG pixels. */
    @Test
    void mkUNetMasksAreTheStoredLogitsThresholded() throws IOException {
        Path model = Fixtures.fixture("mkunet-tiny");
        Path in = dir.resolve("x.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("inputs.safetensors")); Tensor x = f.load("x")) {
            new SafetensorsWriter().add("x", x).write(in);
        }
        Path out = dir.resolve("seg.safetensors");
        Cli.run("segment", "--model", model, "--input", in, "--out", out).assertOk();
        float[] logits;
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors")); Tensor r = ref.load("output")) {
            logits = r.toFloatArray();
        }
        int agree = 0, decided = 0;
        try (SafetensorsFile got = SafetensorsFile.open(out); Tensor mask = got.load("mask")) {
            float[] m = mask.toFloatArray();
            for (int i = 0; i < logits.length; i++) {
                if (Math.abs(logits[i]) < 1e-3) continue; // too close to the threshold to call
                decided++;
                if (m[i] == (logits[i] > 0 ? 1f : 0f)) agree++;
            }
        }
        assertEquals(decided, agree, "mask = (logit > 0)");
        Cli.run("segment", "--model", model, "--input", in, "--out", dir.resolve("mask.png")).assertOk();
        BufferedImage b1 = ImageIO.read(dir.resolve("mask-b1.png").toFile()); // item 1 of the batch of 2
        assertEquals(96, b1.getWidth());
        assertEquals(64, b1.getHeight());
        int plane = 64 * 96;
        for (int i = 0; i < plane; i += 7) {
            float l = logits[plane + i];
            if (Math.abs(l) < 1e-3) continue;
            assertEquals(l > 0 ? 255 : 0, b1.getRGB(i % 96, i / 96) & 0xFF, "pixel " + i);
        }
    }

    /** {@code --quant mixed:} segments with per-layer bits: its mask keeps at least 90% of the float32 logits' decided pixels. */
    @Test
    void mixedPrecisionSegments() throws IOException {
        Path model = Fixtures.fixture("mkunet-tiny");
        Path in = dir.resolve("x.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(model.resolve("inputs.safetensors")); Tensor x = f.load("x")) {
            new SafetensorsWriter().add("x", x).write(in);
        }
        Path out = dir.resolve("seg.safetensors");
        Cli.run("segment", "--model", model, "--input", in, "--out", out, "--quant", "mixed:5").assertOk();
        float[] logits;
        try (SafetensorsFile ref = SafetensorsFile.open(model.resolve("outputs.safetensors")); Tensor r = ref.load("output")) {
            logits = r.toFloatArray();
        }
        int agree = 0, decided = 0;
        try (SafetensorsFile got = SafetensorsFile.open(out); Tensor mask = got.load("mask")) {
            float[] m = mask.toFloatArray();
            for (int i = 0; i < logits.length; i++) {
                if (Math.abs(logits[i]) < 1e-3) continue;
                decided++;
                if (m[i] == (logits[i] > 0 ? 1f : 0f)) agree++;
            }
        }
        assertTrue(decided > 0 && agree >= 0.9 * decided, agree + " of " + decided + " pixels agree with float32");
    }

    /** A gray PNG goes in scaled to [0, 1] (and repeated to MK-UNet's 3 channels, as its forward does). */
    @Test
    void aPngImageIsSegmented() throws IOException {
        Path model = Fixtures.fixture("mkunet-tiny");
        BufferedImage img = new BufferedImage(64, 32, BufferedImage.TYPE_BYTE_GRAY);
        Random r = new Random(1);
        float[] v = new float[64 * 32];
        for (int y = 0; y < 32; y++) {
            for (int x = 0; x < 64; x++) {
                int g = r.nextInt(256);
                img.getRaster().setSample(x, y, 0, g);
                v[y * 64 + x] = g / 255f;
            }
        }
        Path png = dir.resolve("scan.png");
        ImageIO.write(img, "png", png.toFile());
        Path out = dir.resolve("seg.safetensors");
        Cli.run("segment", "--model", model, "--input", png, "--out", out, "--threshold", "0.3").assertOk();
        try (DnnlKernels k = new DnnlKernels(); ZooModel<?> m = ZooModel.load(model, LoadOptions.of(k)); ZooSession s = m.newSession();
             Tensor x = Tensor.of(v, 1, 1, 32, 64); SafetensorsFile got = SafetensorsFile.open(out); Tensor o = got.load("output");
             Tensor mask = got.load("mask")) {
            Map<String, Tensor> want = s.forward(x);
            float[] w = want.get("output").toFloatArray(), mv = mask.toFloatArray();
            assertArrayEquals(w, o.toFloatArray(), 1e-5f);
            for (int i = 0; i < w.length; i++) {
                double p = 1 / (1 + Math.exp(-w[i]));
                if (Math.abs(p - 0.3) > 1e-4) assertEquals(p > 0.3 ? 1f : 0f, mv[i], "pixel " + i);
            }
            want.values().forEach(Tensor::close);
        }
    }

    /** --prior: each time point's output is the next one's prior, as the library's series (tested against the fixture). */
    @Test
    void ddosSuperResolvesATimeSeriesFromAPrior() throws IOException {
        Path model = Fixtures.fixture("ddos-unet-tiny");
        Random r = new Random(5);
        float[] series = new float[3 * 8 * 12 * 16], first = new float[8 * 12 * 16];
        for (int i = 0; i < series.length; i++) series[i] = (float) r.nextGaussian();
        for (int i = 0; i < first.length; i++) first[i] = (float) r.nextGaussian();
        Path in = dir.resolve("lowres.safetensors"), prior = dir.resolve("prior.safetensors"), out = dir.resolve("sr.safetensors");
        new SafetensorsWriter().add("x", series, 3, 1, 8, 12, 16).write(in);
        new SafetensorsWriter().add("prior", first, 1, 1, 8, 12, 16).write(prior);
        Cli.run("segment", "--model", model, "--input", in, "--prior", prior, "--out", out).assertOk();
        try (DnnlKernels k = new DnnlKernels(); ZooModel<?> m = ZooModel.load(model, LoadOptions.of(k)); ZooSession s = m.newSession();
             Tensor p0 = Tensor.of(first, 1, 1, 8, 12, 16); Tensor all = Tensor.of(series, 3, 1, 8, 12, 16);
             SafetensorsFile got = SafetensorsFile.open(out); Tensor o = got.load("output")) {
            assertArrayEquals(new long[]{3, 1, 8, 12, 16}, o.shape());
            List<Tensor> points = List.of(all.narrow(0, 0, 1), all.narrow(0, 1, 1), all.narrow(0, 2, 1));
            List<Tensor> want = ((DdosUNet3D) m).superResolveSeries(s, p0, points);
            float[] gv = o.toFloatArray();
            int per = gv.length / 3;
            for (int t = 0; t < 3; t++) {
                float[] wv = want.get(t).toFloatArray();
                for (int i = 0; i < per; i++) assertEquals(wv[i], gv[t * per + i], 1e-5f, "t" + t + "[" + i + "]");
            }
            want.forEach(Tensor::close);
            assertTrue(got.names().equals(List.of("output")), "a super-resolution has no mask: " + got.names());
        }
    }

    @Test
    void misuseIsAUserError() {
        Path model = Fixtures.fixture("ddos-unet-tiny");
        Cli.run("segment", "--model", model, "--input", model.resolve("inputs.safetensors"), "--out", dir.resolve("m.png"))
                .assertError(1, "works on volumes");
        Cli.run("segment", "--model", Fixtures.fixture("unet2d-ddpm-tiny"), "--input", model.resolve("inputs.safetensors"), "--out", dir.resolve("m.png"))
                .assertError(1, "segment needs a config.json with _class_name");
        Cli.run("segment", "--model", Fixtures.fixture("mkunet-tiny"), "--input", model.resolve("inputs.safetensors"), "--out", dir.resolve("m.png"),
                "--threshold", "2").assertError(1, "--threshold 2.0");
    }
}
