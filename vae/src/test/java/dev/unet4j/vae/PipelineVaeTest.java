package dev.unet4j.vae;

import dev.unet4j.core.random.TorchGenerator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The 4-level VAE of sd-pipeline-tiny inside diffusers' own pipelines: the decode of each case's final latents
 * ({@code decoder(post_quant_conv(latents / 0.18215))}), and img2img's encode, posterior sample (the generator's first
 * draw) and scaling.
 */
class PipelineVaeTest {
    static final double TOL = 1e-4;

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"a_ddim,reference", "a_ddim,onednn", "b_pndm,onednn", "c_img2img,onednn", "c_img2img,reference"})
    void decodeOfFinalLatentsMatchesThePipeline(String cas, String backend) throws Exception {
        Path dir = Fixtures.fixture("sd-pipeline-tiny");
        Map<String, Tensor> out = VaeTesting.read(dir.resolve("cases").resolve(cas).resolve("outputs.safetensors"));
        try (AutoencoderKL vae = AutoencoderKL.load(dir, VaeTesting.kernels(backend)); // the pipeline folder: its vae/
             Tensor z = vae.unscaleLatents(out.get("final_latents"));
             Tensor image = vae.decode(z)) {
            assertEquals(8, vae.scaleFactor());
            double e = VaeTesting.assertClose(cas + " vae_decoder_output", out.get("vae_decoder_output"), image, TOL);
            System.out.printf("%s %s vae_decoder_output %.2e%n", cas, backend, e);
        } finally {
            out.values().forEach(Tensor::close);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"reference", "onednn"})
    void img2imgEncodeSampleAndScaleMatchThePipeline(String backend) throws Exception {
        Path dir = Fixtures.fixture("sd-pipeline-tiny");
        Map<String, Tensor> out = VaeTesting.read(dir.resolve("cases/c_img2img/outputs.safetensors"));
        try (AutoencoderKL vae = AutoencoderKL.load(dir.resolve("vae"), VaeTesting.kernels(backend));
             LatentDistribution d = vae.encode(out.get("image_preprocessed"))) {
            double em = VaeTesting.assertClose("vae_latent_mean", out.get("vae_latent_mean"), d.mean(), TOL);
            double el = VaeTesting.assertClose("vae_latent_logvar", out.get("vae_latent_logvar"), d.logvar(), TOL);
            // the pipeline's generator (seed 4321) is first consumed by latent_dist.sample
            TorchGenerator g = new TorchGenerator(4321);
            try (Tensor sample = d.sample(g); Tensor scaled = vae.scaleLatents(sample);
                 Tensor std = d.std()) {
                double es = VaeTesting.assertClose("init_latents_scaled", out.get("init_latents_scaled"), scaled, TOL);
                // the noise itself: (sample - mean) / std recovers the stored draw
                float[] s = sample.toFloatArray(), m = d.mean().toFloatArray(), sd = std.toFloatArray();
                float[] noise = new float[s.length];
                for (int i = 0; i < s.length; i++) noise[i] = (s[i] - m[i]) / sd[i];
                try (Tensor n = Tensor.of(noise, sample.shape())) {
                    VaeTesting.assertClose("vae_sample_noise", out.get("vae_sample_noise"), n, 1e-5);
                }
                System.out.printf("img2img %s: mean %.2e logvar %.2e init_latents_scaled %.2e%n", backend, em, el, es);
            }
        } finally {
            out.values().forEach(Tensor::close);
        }
    }
}
