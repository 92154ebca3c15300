package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CacheSession;
import dev.unet4j.caching.GenerationInfo;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.ddim.DdimSampler;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.text.ClipTextModel;
import dev.unet4j.text.ClipTextOutput;
import dev.unet4j.text.ClipTokenizer;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fidelity of the guidance-aware policies on the trained text-to-image demo {@code digits-text-32} (real prompt
 * embeddings from its CLIP text encoder): DDIM 25 steps, guidance 3 (the model card's default), the ten prompts
 * {@code a handwritten ZERO..NINE} in one batch, the final latents against full compute from the same noise (PSNR
 * with R = max - min of the full-compute latents). The floors are regression guards a few dB under the measured
 * values, printed for the report; MACs must drop as each method predicts.
 */
class TextDemoFidelityTest {
    static final String[] DIGITS = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};

    record Case(String spec, double minPsnr, double maxMacs) {
    }

    @Test
    void guidanceAwarePoliciesKeepTheDigits() throws Exception {
        Path dir = Fixtures.model("digits-text-32");
        DnnlKernels kernels = new DnnlKernels();
        ClipTokenizer tok = ClipTokenizer.load(dir.resolve("tokenizer"));
        int[][] ids = new int[DIGITS.length][], empty = new int[DIGITS.length][];
        for (int i = 0; i < DIGITS.length; i++) {
            ids[i] = tok.encode("a handwritten " + DIGITS[i]).inputIds();
            empty[i] = tok.encode("").inputIds();
        }
        TextConditioning cond, uncond;
        try (ClipTextModel enc = ClipTextModel.load(dir.resolve("text_encoder"), kernels);
             ClipTextOutput c = enc.encode(ids, null, false); ClipTextOutput u = enc.encode(empty, null, false)) {
            cond = conditioning(c.lastHiddenState());
            uncond = conditioning(u.lastHiddenState());
        }
        DdimSampler ddim = DdimSampler.fromConfig(SchedulerConfig.parse(Files.readString(dir.resolve("scheduler/scheduler_config.json"))));
        long[] seeds = new long[DIGITS.length];
        for (int i = 0; i < seeds.length; i++) seeds[i] = i;
        try (UNetModel model = UNetModel.load(dir.resolve("unet"), LoadOptions.of(kernels))) {
            Latents full = generate(model, ddim, CachePolicies.NONE, uncond, cond, seeds, null);
            for (Case k : new Case[] {
                    new Case("tgate:gate-step=10", 28, 0.70),
                    new Case("tgate:gate-step=5", 23, 0.60),
                    new Case("cfg-cache", 45, 0.78),
                    new Case("deepcache:interval=3,branch=0", 15, 0.50),
                    new Case("forecast:order=2+deepcache:interval=3,branch=0", 15, 0.50),
                    new Case("tgate:gate-step=10+deepcache:interval=3,branch=0", 15, 0.40),
                    new Case("cfg-cache+deepcache:interval=3,branch=0", 15, 0.45),
                    new Case("tome", 40, 0.97),
                    new Case("tome:merge-crossattn=true,merge-mlp=true", 35, 0.90),
                    new Case("deepcache:interval=3,branch=0+tome", 36, 0.46)}) {
                GenerationReport[] rep = new GenerationReport[1];
                Latents got = generate(model, ddim, CachePolicies.parse(k.spec()), uncond, cond, seeds, rep);
                double psnr = psnr(full.data(), got.data());
                double macs = (double) rep[0].macsDone() / rep[0].fullMacs();
                System.out.printf("digits-text-32 %s: PSNR %.1f dB (latents), MACs %.1f%% of full%n", k.spec(), psnr, 100 * macs);
                assertTrue(psnr >= k.minPsnr(), k.spec() + ": PSNR " + psnr + " < " + k.minPsnr());
                assertTrue(macs <= k.maxMacs(), k.spec() + ": MACs " + macs + " > " + k.maxMacs());
            }
        }
    }

    static TextConditioning conditioning(Tensor h) {
        long[] s = h.shape();                                           // [10, 77, 64]
        return new TextConditioning(h.toFloatArray(), new int[] {(int) s[0], (int) s[1], (int) s[2]});
    }

    static Latents generate(UNetModel model, DdimSampler ddim, CachePolicy p, TextConditioning uncond, TextConditioning cond,
                            long[] seeds, GenerationReport[] report) {
        try (UNetSession s = model.newSession();
             CacheSession cache = CacheSession.open(s, p, GenerationInfo.calls(25))) {
            Latents out = ddim.sample(Guidance.classifierFree(new CachedDiffusionModel(cache), uncond, cond, 3.0, 0),
                    SamplingRequest.of(25, new int[] {seeds.length, 4, 8, 8}, NoiseSource.perItem(seeds)));
            if (report != null) report[0] = cache.report();
            return out;
        }
    }

    static double psnr(float[] ref, float[] x) {
        double min = Double.MAX_VALUE, max = -Double.MAX_VALUE, se = 0;
        for (int i = 0; i < ref.length; i++) {
            min = Math.min(min, ref[i]);
            max = Math.max(max, ref[i]);
            se += (ref[i] - x[i]) * (double) (ref[i] - x[i]);
        }
        return 10 * Math.log10((max - min) * (max - min) / (se / ref.length));
    }
}
