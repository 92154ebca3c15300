package dev.unet4j.caching.policy;

import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.GuidanceHalves;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;

import java.util.List;
import java.util.Set;

/**
 * FasterCache's CFG-Cache (Lv et al. 2024, "FasterCache: Training-Free Video Diffusion Model Acceleration with High
 * Quality", section 3.3, equations 9-11; {@code Vchitect/FasterCache}, {@code _split_low_high_freq} in its sampling
 * scripts), with the semantics of diffusers' port ({@code src/diffusers/hooks/faster_cache.py},
 * {@code FasterCacheDenoiserHook.new_forward}, which cites it) and its defaults:
 * <ul>
 * <li>a guided call {@code s} runs only its conditional half when {@code s > 0}, {@code t-min < t < t-max} (the
 *     UNet timestep; {@code unconditional_batch_timestep_skip_range} (-1, 641)) and {@code s % interval != 0}
 *     ({@code unconditional_batch_skip_range} 5), and a bias is known;</li>
 * <li>every guided call that runs both halves stores the bias {@code F(uncond) - F(cond)} of the 2-D FFT over
 *     (H, W), split by the centred disc of radius {@code min(H, W) // 5} into low and high frequencies;</li>
 * <li>a conditional-only call first scales the stored low-frequency bias by {@code alpha-lf} (1.1) when
 *     {@code lf-t-min < t < lf-t-max} ((99, 901)), else 1, and the high-frequency bias by {@code alpha-hf} (1.1) when
 *     {@code hf-t-min < t < hf-t-max} ((-1, 301)) — in place, so consecutive skipped calls compound the weight, as the
 *     hook does — and returns {@code uncond = Re(ifft2(F(cond) + bias))} {@code = cond + Re(ifft2(bias))}.</li>
 * </ul>
 * The FFT is a plain double-precision DFT ({@link Dft2}), not bit-identical to torch's float32 FFT. Calls made without
 * the guidance seam (no CFG) are never touched.
 */
public record CfgCache(int interval, double tMin, double tMax, double alphaLf, double alphaHf, double lfTMin,
                       double lfTMax, double hfTMin, double hfTMax) implements CachePolicy {
    public static final String NAME = "cfg-cache";
    private static final List<String> KEYS = List.of("interval", "t-min", "t-max", "alpha-lf", "alpha-hf", "lf-t-min",
            "lf-t-max", "hf-t-min", "hf-t-max");

    public CfgCache {
        if (interval < 1) throw new IllegalArgumentException("cfg-cache: interval must be >= 1, got " + interval);
        if (!(tMin < tMax)) throw new IllegalArgumentException("cfg-cache: t-min " + tMin + " must be below t-max " + tMax);
    }

    /** diffusers' {@code FasterCacheConfig} defaults. */
    public static CfgCache defaults() {
        return new CfgCache(5, -1, 641, 1.1, 1.1, 99, 901, -1, 301);
    }

    public static CfgCache parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, KEYS, Set.of(), Set.of());
        CfgCache d = defaults();
        return new CfgCache(a.integer("interval", d.interval), a.number("t-min", d.tMin), a.number("t-max", d.tMax),
                a.number("alpha-lf", d.alphaLf), a.number("alpha-hf", d.alphaHf), a.number("lf-t-min", d.lfTMin),
                a.number("lf-t-max", d.lfTMax), a.number("hf-t-min", d.hfTMin), a.number("hf-t-max", d.hfTMax));
    }

    @Override
    public String spec() {
        return NAME + ":interval=" + interval + ",t-min=" + num(tMin) + ",t-max=" + num(tMax) + ",alpha-lf=" + num(alphaLf)
                + ",alpha-hf=" + num(alphaHf) + ",lf-t-min=" + num(lfTMin) + ",lf-t-max=" + num(lfTMax)
                + ",hf-t-min=" + num(hfTMin) + ",hf-t-max=" + num(hfTMax);
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** Whether guided call {@code s} at timestep {@code t} may skip its unconditional half (a bias being known). */
    public boolean skips(int s, double t) {
        return s > 0 && tMin < t && t < tMax && s % interval != 0;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        return new Run();
    }

    private final class Run implements PolicyRun {
        /** The bias per (item, channel) plane, unshifted frequency order: [B*C][H*W] real and imaginary parts. */
        private double[][] biasRe, biasIm;
        private long[] biasShape;
        private Dft2 dft;
        private boolean[] low;
        private double timestep;
        private boolean skippedNow;

        @Override
        public boolean dropsUnconditional(int callIndex, double t) {
            timestep = t;
            skippedNow = biasRe != null && skips(callIndex, t);
            return skippedNow;
        }

        @Override
        public void halves(int callIndex, GuidanceHalves h) {
            if (h != GuidanceHalves.COND_ONLY) skippedNow = false;     // another run may have dropped it: then it supplies
        }

        @Override
        public void guidedOutput(int callIndex, Tensor out) {
            if (out.rank() != 4) throw new IllegalStateException("cfg-cache needs [2B, C, H, W] outputs, got " + out);
            long b = out.dim(0) / 2;
            int c = (int) out.dim(1), h = (int) out.dim(2), w = (int) out.dim(3), hw = h * w;
            float[] v = out.toFloatArray();                             // [2B, C, H, W]: uncond items first
            if (dft == null || dft.h != h || dft.w != w) {
                dft = new Dft2(h, w);
                low = dft.lowFrequencyMask();
            }
            int planes = (int) b * c;
            biasRe = new double[planes][hw];
            biasIm = new double[planes][hw];
            int half = planes * hw;
            for (int p = 0; p < planes; p++) {
                double[] re = biasRe[p];
                for (int i = 0; i < hw; i++) re[i] = (double) v[p * hw + i] - v[half + p * hw + i];   // uncond - cond
                dft.transform(re, biasIm[p], false);                     // F(uncond) - F(cond), by linearity
            }
            biasShape = new long[]{b, c, h, w};
        }

        @Override
        public Tensor unconditional(int callIndex, Tensor cond, Kernels k, Workspace ws) {
            if (!skippedNow) return null;
            if (!java.util.Arrays.equals(cond.shape(), biasShape)) {
                throw new IllegalStateException("cfg-cache: conditional prediction " + cond + " does not match the cached bias "
                        + java.util.Arrays.toString(biasShape));
            }
            double wl = lfTMin < timestep && timestep < lfTMax ? alphaLf : 1;
            double wh = hfTMin < timestep && timestep < hfTMax ? alphaHf : 1;
            float[] c = cond.toFloatArray();
            int hw = dft.h * dft.w;
            double[] re = new double[hw], im = new double[hw];
            for (int p = 0; p < biasRe.length; p++) {
                double[] br = biasRe[p], bi = biasIm[p];
                for (int i = 0; i < hw; i++) {
                    double wgt = low[i] ? wl : wh;                         // the hook scales its stored deltas in place
                    br[i] *= wgt;
                    bi[i] *= wgt;
                    re[i] = br[i];
                    im[i] = bi[i];
                }
                dft.transform(re, im, true);
                for (int i = 0; i < hw; i++) c[p * hw + i] = (float) (c[p * hw + i] + re[i]);
            }
            try (Tensor heap = Tensor.of(c, cond.shape())) {              // [B, C, H, W]
                return k.copy(ws, heap);
            }
        }

        @Override
        public String label(int callIndex) {
            return skippedNow ? "cfg-cache" : "";
        }

        @Override
        public long bytesHeld() {
            return biasRe == null ? 0 : 2L * biasRe.length * biasRe[0].length * Double.BYTES;
        }

        @Override
        public void close() {
            biasRe = biasIm = null;
        }
    }
}
