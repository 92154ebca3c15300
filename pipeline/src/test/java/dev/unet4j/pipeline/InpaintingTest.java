package dev.unet4j.pipeline;

import dev.unet4j.core.image.Image;
import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.io.SafetensorsWriter;
import dev.unet4j.core.io.TensorInfo;
import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.denoising.UNetDenoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.vae.AutoencoderKL;
import dev.unet4j.vae.LatentDistribution;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * StableDiffusionInpaintPipeline against a plain loop written here from diffusers' __call__ (prepare_latents,
 * prepare_mask_latents, the denoising loop with its legacy blending or 9-channel input, DDIM, CFG 7.5): the legacy
 * 4-channel path on sd-pipeline-tiny, and the 9-channel path on the same pipeline with an inpainting UNet made here
 * (conv_in widened to 9 input channels with seeded weights).
 */
class InpaintingTest {
    @TempDir
    Path dir;

    static final String PROMPT = "a photo of an astronaut riding a horse on mars";
    static final String NEGATIVE = "blurry, low quality";

    private static Image image() {
        Random r = new Random(11);
        byte[] px = new byte[64 * 64 * 3];
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                for (int c = 0; c < 3; c++) px[(y * 64 + x) * 3 + c] = (byte) ((x * 4 + y * (c + 1) * 2 + r.nextInt(20)) & 0xFF);
            }
        }
        return new Image(64, 64, 3, px);
    }

    /** White (repaint) in a 24x40 box, black elsewhere; greyscale 0/255 so the binarisation is unambiguous. */
    private static Image mask() {
        byte[] m = new byte[64 * 64];
        for (int y = 16; y < 40; y++) for (int x = 8; x < 48; x++) m[y * 64 + x] = (byte) 255;
        return new Image(64, 64, 1, m);
    }

    private static Latents sample(AutoencoderKL vae, float[] pixels, TorchGenerator g) {
        try (Tensor in = Tensor.of(pixels, 1, 3, 64, 64); LatentDistribution d = vae.encode(in); Tensor s = d.sample(g);
             Tensor sc = vae.scaleLatents(s)) {
            return new Latents(sc.toFloatArray(), new int[] {1, 4, 8, 8});
        }
    }

    /** The reference: diffusers' inpaint __call__ for one image, DDIM, written out. */
    private static Latents reference(StableDiffusion sd, int steps, double strength, long seed) {
        Image img = image();
        float[] pixels = new float[3 * 64 * 64];
        float[] masked = new float[3 * 64 * 64];
        float[] maskPx = new float[64 * 64];
        Image m = mask();
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                maskPx[y * 64 + x] = m.get(x, y, 0) / 255f < 0.5f ? 0f : 1f;
                for (int c = 0; c < 3; c++) {
                    float v = 2f * (img.get(x, y, c) / 255f) - 1f;
                    pixels[(c * 64 + y) * 64 + x] = v;
                    masked[(c * 64 + y) * 64 + x] = maskPx[y * 64 + x] < 0.5f ? v : 0f;
                }
            }
        }
        boolean nine = sd.unet().inChannels() == 9;
        TorchGenerator g = new TorchGenerator(seed);
        Latents imageLatents = !nine || strength < 1 ? sample(sd.vae(), pixels, g) : null;
        Latents noise = Latents.randn(g, 1, 4, 8, 8);
        Latents maskedLatents = sample(sd.vae(), masked, g);
        float[] ml = new float[64];
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) ml[y * 8 + x] = maskPx[(8 * y) * 64 + 8 * x];
        DdimSampler ddim = DdimSampler.fromConfig(SchedulerConfig.load(Fixture.pipeline().resolve("scheduler/scheduler_config.json")));
        long[] ts = ddim.timesteps(steps);
        int start = steps - Math.min((int) (steps * strength), steps);
        Latents x = strength == 1 ? noise.copy() : ddim.addNoise(imageLatents, noise, ts[start]);
        TextConditioning both = (TextConditioning) sd.promptEncoder().encode(NEGATIVE, 0).concat(sd.promptEncoder().encode(PROMPT, 0));
        try (UNetSession s = sd.unet().newSession()) {
            UNetDenoiser unet = new UNetDenoiser(s);
            for (int i = start; i < ts.length; i++) {
                Latents in = Latents.concat(x, x);
                if (nine) {
                    float[] cat = new float[2 * 9 * 64];
                    for (int b = 0; b < 2; b++) {
                        System.arraycopy(x.data(), 0, cat, b * 9 * 64, 4 * 64);
                        System.arraycopy(ml, 0, cat, b * 9 * 64 + 4 * 64, 64);
                        System.arraycopy(maskedLatents.data(), 0, cat, b * 9 * 64 + 5 * 64, 4 * 64);
                    }
                    in = new Latents(cat, new int[] {2, 9, 8, 8});
                }
                Latents out = unet.forward(in, new ModelCall(i, i, ts[i], 0), both);
                Latents e = Guidance.combine(out.slice(0, 1), out.slice(1, 2), 7.5);
                x = ddim.step(e, ts[i], ddim.prevTimestep(ts, i), x, null).prevSample();
                if (!nine) {
                    Latents proper = i < ts.length - 1 ? ddim.addNoise(imageLatents, noise, ts[i + 1]) : imageLatents;
                    float[] v = x.data().clone();
                    for (int k = 0; k < v.length; k++) v[k] = (1 - ml[k % 64]) * proper.data()[k] + ml[k % 64] * v[k];
                    x = x.withData(v);
                }
            }
        }
        return x;
    }

    private static void check(StableDiffusion sd, int steps, double strength) {
        TextToImage r = TextToImage.of(PROMPT).negativePrompt(NEGATIVE).steps(steps).guidance(7.5).seed(5).scheduler("ddim")
                .inpaint(image(), mask(), strength);
        GeneratedImages out = sd.generate(r);
        Latents expected = reference(sd, steps, strength, 5);
        double e = Fixture.assertClose("inpaint latents (" + sd.unet().inChannels() + " channels, strength " + strength + ")",
                expected, out.latents().data(), out.latents().shape(), 1e-4);
        System.out.printf("inpainting, %d-channel UNet, strength %.2f: final latents %.2e relative%n", sd.unet().inChannels(), strength, e);
    }

    @Test
    void legacyFourChannelBlending() throws IOException {
        try (StableDiffusion sd = StableDiffusion.load(Fixture.pipeline(), PipelineOptions.defaults())) {
            check(sd, 5, 1.0);
            check(sd, 8, 0.6);
            // outside the mask, the result is the image's own latents (the last blend uses the clean ones)
        }
    }

    @Test
    void nineChannelInpaintingUnet() throws IOException {
        Path p = Files.createDirectories(dir.resolve("inpaint-tiny"));
        for (String c : new String[] {"text_encoder", "tokenizer", "vae", "scheduler"}) {
            Files.createDirectories(p.resolve(c));
            try (var files = Files.list(Fixture.pipeline().resolve(c))) {
                for (Path f : files.toList()) Files.copy(f, p.resolve(c).resolve(f.getFileName()));
            }
        }
        Files.writeString(p.resolve("model_index.json"), Files.readString(Fixture.pipeline().resolve("model_index.json"))
                .replace("StableDiffusionPipeline", "StableDiffusionInpaintPipeline"));
        Files.createDirectories(p.resolve("unet"));
        Files.writeString(p.resolve("unet/config.json"), Files.readString(Fixture.pipeline().resolve("unet/config.json"))
                .replaceFirst("\"in_channels\": 4", "\"in_channels\": 9"));
        SafetensorsWriter w = new SafetensorsWriter();
        Random r = new Random(5);
        try (SafetensorsFile f = SafetensorsFile.open(Fixture.pipeline().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            for (TensorInfo i : f.infos()) {
                try (Tensor t = f.load(i.name())) {
                    float[] v = t.toFloatArray();
                    if (!i.name().equals("conv_in.weight")) {
                        w.add(i.name(), v, i.shape());
                        continue;
                    }
                    long out = i.shape()[0];
                    float[] wide = new float[(int) out * 9 * 9];
                    for (int o = 0; o < out; o++) {
                        System.arraycopy(v, o * 4 * 9, wide, o * 9 * 9, 4 * 9);
                        for (int k = 4 * 9; k < 9 * 9; k++) wide[o * 81 + k] = (float) (r.nextGaussian() * 0.1);
                    }
                    w.add(i.name(), wide, out, 9, 3, 3);
                }
            }
        }
        w.write(p.resolve("unet/diffusion_pytorch_model.safetensors"));
        try (StableDiffusion sd = StableDiffusion.load(p, PipelineOptions.defaults())) {
            check(sd, 5, 1.0);
            check(sd, 8, 0.6);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sd.generate(TextToImage.of("x").size(64, 64).steps(2)));
            assertTrue(e.getMessage().contains("9 input channels"), e.getMessage());
        }
    }
}
