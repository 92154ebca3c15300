package dev.unet4j.pipeline.denoising;

import dev.unet4j.caching.CachePolicies;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CallReport;
import dev.unet4j.caching.GenerationReport;
import dev.unet4j.caching.policy.CfgCache;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import dev.unet4j.samplers.Denoiser;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.NoiseSource;
import dev.unet4j.samplers.Sampler;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.samplers.SamplingRequest;
import dev.unet4j.samplers.guidance.Guidance;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.samplers.schedule.SchedulerConfig;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CFG-Cache against a plain transcription of diffusers' {@code FasterCacheDenoiserHook.new_forward} and
 * {@code _split_low_high_freq}: a direct O((HW)^2) DFT, {@code fftshift} over every dimension as torch's default, the
 * disc mask in the shifted grid, the deltas stored shifted and scaled in place, {@code ifftshift} + inverse DFT.
 */
class CfgCacheTest extends GuidedTinySd {
    static final int STEPS = 10;
    static final double SCALE = 3.0;
    static final int[] SHAPE = {1, 4, 16, 16};

    // ------------------------------------------------------------------ the transcription (complex as re/im arrays)

    /** torch.fft.fft2 (or ifft2) of one plane by the definition. */
    static double[][] dft(double[] re, double[] im, int h, int w, boolean inverse) {
        double[] or = new double[h * w], oi = new double[h * w];
        double sign = inverse ? 1 : -1;
        for (int ky = 0; ky < h; ky++)
            for (int kx = 0; kx < w; kx++) {
                double sr = 0, si = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        double a = sign * 2 * Math.PI * ((double) ky * y / h + (double) kx * x / w);
                        double c = Math.cos(a), s = Math.sin(a);
                        sr += re[y * w + x] * c - im[y * w + x] * s;
                        si += re[y * w + x] * s + im[y * w + x] * c;
                    }
                if (inverse) {
                    sr /= h * w;
                    si /= h * w;
                }
                or[ky * w + kx] = sr;
                oi[ky * w + kx] = si;
            }
        return new double[][] {or, oi};
    }

    /** torch.roll over every dimension of [B, C, H, W] by n // 2 (fftshift) or -(n // 2) (ifftshift). */
    static double[] shiftAll(double[] v, int[] shape, boolean inverse) {
        int b = shape[0], c = shape[1], h = shape[2], w = shape[3];
        double[] out = new double[v.length];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < c; j++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        int ti = Math.floorMod(i + (inverse ? -(b / 2) : b / 2), b), tj = Math.floorMod(j + (inverse ? -(c / 2) : c / 2), c);
                        int ty = Math.floorMod(y + (inverse ? -(h / 2) : h / 2), h), tx = Math.floorMod(x + (inverse ? -(w / 2) : w / 2), w);
                        out[((ti * c + tj) * h + ty) * w + tx] = v[((i * c + j) * h + y) * w + x];
                    }
        return out;
    }

    /** _split_low_high_freq: {low re, low im, high re, high im} of fftshift(fft2(x)) over [B, C, H, W]. */
    static double[][] split(float[] x, int[] shape) {
        int h = shape[2], w = shape[3], hw = h * w, planes = x.length / hw;
        double[] re = new double[x.length], im = new double[x.length];
        for (int p = 0; p < planes; p++) {
            double[] pr = new double[hw];
            for (int i = 0; i < hw; i++) pr[i] = x[p * hw + i];
            double[][] f = dft(pr, new double[hw], h, w, false);
            System.arraycopy(f[0], 0, re, p * hw, hw);
            System.arraycopy(f[1], 0, im, p * hw, hw);
        }
        re = shiftAll(re, shape, false);
        im = shiftAll(im, shape, false);
        int radius = Math.min(h, w) / 5, cx = w / 2, cy = h / 2;
        double[][] out = new double[4][x.length];
        for (int p = 0; p < planes; p++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w; xx++) {
                    int i = p * hw + y * w + xx;
                    boolean low = (xx - cx) * (xx - cx) + (y - cy) * (y - cy) <= radius * radius;
                    out[low ? 0 : 2][i] = re[i];
                    out[low ? 1 : 3][i] = im[i];
                }
        return out;
    }

    /** FasterCacheDenoiserHook.new_forward's state and the uncond reconstruction, in plain loops. */
    static final class Reference {
        final CfgCache p;
        double[][] lowDelta, highDelta;   // {re, im}, shifted
        int iteration;

        Reference(CfgCache p) {
            this.p = p;
        }

        boolean skip(double t) {
            return iteration > 0 && p.tMin() < t && t < p.tMax() && iteration % p.interval() != 0;
        }

        void full(float[] u, float[] c) {
            double[][] su = split(u, SHAPE), sc = split(c, SHAPE);
            lowDelta = new double[][] {sub(su[0], sc[0]), sub(su[1], sc[1])};
            highDelta = new double[][] {sub(su[2], sc[2]), sub(su[3], sc[3])};
        }

        float[] uncond(float[] c, double t) {
            double wl = p.lfTMin() < t && t < p.lfTMax() ? p.alphaLf() : 1, wh = p.hfTMin() < t && t < p.hfTMax() ? p.alphaHf() : 1;
            for (double[] a : lowDelta) for (int i = 0; i < a.length; i++) a[i] *= wl;
            for (double[] a : highDelta) for (int i = 0; i < a.length; i++) a[i] *= wh;
            double[][] sc = split(c, SHAPE);
            double[] re = new double[c.length], im = new double[c.length];
            for (int i = 0; i < c.length; i++) {
                re[i] = lowDelta[0][i] + sc[0][i] + highDelta[0][i] + sc[2][i];
                im[i] = lowDelta[1][i] + sc[1][i] + highDelta[1][i] + sc[3][i];
            }
            re = shiftAll(re, SHAPE, true);
            im = shiftAll(im, SHAPE, true);
            int hw = SHAPE[2] * SHAPE[3];
            float[] out = new float[c.length];
            for (int q = 0; q < c.length / hw; q++) {
                double[][] f = dft(Arrays.copyOfRange(re, q * hw, (q + 1) * hw), Arrays.copyOfRange(im, q * hw, (q + 1) * hw), SHAPE[2], SHAPE[3], true);
                for (int i = 0; i < hw; i++) out[q * hw + i] = (float) f[0][i];
            }
            return out;
        }

        static double[] sub(double[] a, double[] b) {
            double[] o = new double[a.length];
            for (int i = 0; i < a.length; i++) o[i] = a[i] - b[i];
            return o;
        }
    }

    static Latents generate(Denoiser d) {
        Sampler sampler = Samplers.byName("ddim", SamplerOptions.of(SchedulerConfig.defaults()));
        return sampler.sample(d, SamplingRequest.of(STEPS, SHAPE, NoiseSource.seeded(3)));
    }

    /** The hook's loop: skipped calls run the conditional half and rebuild the unconditional one. */
    static Latents reference(CfgCache p, List<Integer> skipped) {
        try (UNetSession s = sd.model.newSession()) {
            UNetDenoiser unet = new UNetDenoiser(s);
            Reference ref = new Reference(p);
            return generate((x, call) -> {
                Latents u, c;
                if (ref.skip(call.timestep())) {
                    skipped.add(call.callIndex());
                    c = unet.forward(x, call, cond);
                    u = c.withData(ref.uncond(c.data(), call.timestep()));
                } else {
                    Latents out = unet.forward(Latents.concat(x, x), call, uncond.concat(cond));
                    u = out.slice(0, 1);
                    c = out.slice(1, 2);
                    ref.full(u.data(), c.data());
                }
                ref.iteration++;
                return Guidance.combine(u, c, SCALE);
            });
        }
    }

    @Test
    void generationEqualsTheHookTranscription() {
        Latents full;
        try (UNetSession s = sd.model.newSession()) {
            full = generate(Guidance.classifierFree(new UNetDenoiser(s), uncond, cond, SCALE, 0));
        }
        // defaults, and a denser skip with both weight ranges active on skipped calls
        for (CfgCache p : List.of(CfgCache.defaults(), (CfgCache) CachePolicies.parse("cfg-cache:interval=3,t-max=1000,hf-t-max=500"))) {
            List<Integer> skipped = new ArrayList<>();
            Latents ref = reference(p, skipped);
            CachedRun run = cachedRun(p, STEPS, SCALE, CfgCacheTest::generate);
            Latents got = run.latents();
            GenerationReport r = run.report();
            double d = Closeness.maxAbsDiff(ref.data(), got.data()), off = Closeness.maxAbsDiff(full.data(), got.data());
            System.out.printf("%s: skipped %s, max |cfg-cache - hook| %.3g, vs full compute %.3g, MACs %.3f of full%n", p.spec(),
                    skipped, d, off, (double) r.macsDone() / r.fullMacs());
            assertTrue(skipped.size() >= 3, p.spec() + " skipped " + skipped);
            assertTrue(d <= 2e-5, p.spec() + ": max |cfg-cache - hook transcription| = " + d);
            assertTrue(off > 1e-4, p.spec() + ": differs from full compute (" + off + "), so the comparison can fail");
            long full0 = r.calls().get(0).fullMacs();
            for (CallReport c : r.calls()) {
                boolean skip = skipped.contains(c.callIndex());
                String at = p.spec() + " call " + c.callIndex() + " (" + c.mode() + ")";
                assertEquals(skip ? "cond-only cfg-cache" : "full", c.mode(), at);
                assertEquals(full0, c.fullMacs(), at);
                assertEquals(skip ? full0 / 2 : full0, c.macsDone(), at);
            }
        }
    }

    @Test
    void parsesItsTextForm() {
        assertEquals(CfgCache.defaults(), CachePolicies.parse("cfg-cache"));
        CachePolicy p = CachePolicies.parse("cfg-cache:interval=3,alpha-lf=1.2");
        assertEquals(p, CachePolicies.parse(p.spec()));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("cfg-cache:interval=0"));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("cfg-cache:t-min=700,t-max=600"));
        assertThrows(IllegalArgumentException.class, () -> CachePolicies.parse("cfg-cache:alpha=1"));
    }
}
