package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2d;
import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.Layer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerAdapter;
import dev.unet4j.unet.LayerFactory;

/**
 * Nearest 2x upsampling then a 3x3 conv (padding 1), computed as four 2x2 convs on the low-resolution map, one per
 * output phase, written interleaved into the output (sub-pixel convolution, Shi et al. 2016; the nearest-upsample +
 * conv equivalence Odena et al. 2016 discuss): an upsampled pixel repeats its source, so each phase's 3x3 window
 * covers only 2x2 distinct source pixels and the taps that land on the same source add up. Exact up to the rounding
 * of those sums; 4/9 of the MACs and no upsampled copy of the input (an SD VAE decoder's three upsampler convs are 28%
 * of its MACs).
 */
final class SubpixelConv implements AutoCloseable {
    private final String path;
    private final Conv2dSpec spec;
    private final Conv2dSpec[] phaseSpecs = new Conv2dSpec[4];
    private final Conv2d[] phases = new Conv2d[4];

    /**
     * @param spec    the 3x3, stride-1, padding-1 conv that follows the upsampling
     * @param weight  its weight {@code [out, in, 3, 3]}; {@code bias} {@code [out]} or null (both kept by the caller)
     * @param factory prepares each phase's layer under {@code path}, as it would the 3x3 one
     */
    SubpixelConv(String path, Conv2dSpec spec, Tensor weight, Tensor bias, LayerFactory factory) {
        if (spec.kernelH() != 3 || spec.kernelW() != 3 || spec.strideH() != 1 || spec.strideW() != 1 || spec.groups() != 1
                || spec.padTop() != 1 || spec.padBottom() != 1 || spec.padLeft() != 1 || spec.padRight() != 1) {
            throw new IllegalArgumentException(path + ": sub-pixel upsampling needs a dense 3x3 conv with stride 1 and padding 1, got " + spec);
        }
        this.path = path;
        this.spec = spec;
        float[] w = weight.toFloatArray();
        try {
            for (int a = 0; a < 2; a++) {
                for (int b = 0; b < 2; b++) {
                    // phase a = 0 reads source rows i-1 (tap 0) and i (taps 1, 2): pad one above; a = 1 reads i (taps 0, 1)
                    // and i+1 (tap 2): pad one below
                    phaseSpecs[2 * a + b] = new Conv2dSpec(spec.inChannels(), spec.outChannels(), 2, 2, 1, 1,
                            1 - a, a, 1 - b, b, 1, 1, 1);
                    try (Tensor pw = Tensor.of(phaseWeight(w, spec.outChannels() * spec.inChannels(), a, b),
                            spec.outChannels(), spec.inChannels(), 2, 2)) {
                        phases[2 * a + b] = factory.conv2d(path, phaseSpecs[2 * a + b], pw, bias);
                    }
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The 2x2 kernels of phase (a, b) from 3x3 kernels {@code w} ({@code filters} of them, row-major). */
    static float[] phaseWeight(float[] w, int filters, int a, int b) {
        float[] out = new float[filters * 4];
        for (int f = 0; f < filters; f++) {
            for (int r = 0; r < 2; r++) {
                for (int c = 0; c < 2; c++) {
                    float sum = 0;
                    for (int i = 0; i < 3; i++) {
                        if (tap(a, i) != r) continue;
                        for (int j = 0; j < 3; j++) {
                            if (tap(b, j) == c) sum += w[f * 9 + i * 3 + j];
                        }
                    }
                    out[f * 4 + r * 2 + c] = sum;
                }
            }
        }
        return out;
    }

    /** Which of a phase's two source rows 3x3 tap {@code i} reads: phase 0 maps taps 0, 1, 2 to 0, 1, 1; phase 1 to 0, 0, 1. */
    private static int tap(int phase, int i) {
        return (i + 1 - phase) / 2;
    }

    /** {@code conv(upsample2x(x))} {@code [N, out, 2H, 2W]} for {@code x} {@code [N, in, H, W]}. */
    Tensor forward(Pass p, Tensor x) {
        long n = x.dim(0), h = x.dim(2), w = x.dim(3);
        LayerAdapter adapter = p.ws.attributes().get(LayerAdapter.class);
        Layer replacement = adapter == null ? null : adapter.conv2d(path);
        if (replacement != null) {
            // an adapter's merged layer is a 3x3 one: it runs on the upsampled map
            p.addMacs(spec.macs(n, 2 * h, 2 * w));
            try (Tensor up = p.k.upsampleNearest(p.ws, x, (int) (2 * h), (int) (2 * w))) {
                return replacement.forward(p.ws, up, null, 1f);
            }
        }
        Tensor out = null;
        try {
            for (int i = 0; i < 4; i++) {
                p.addMacs(phaseSpecs[i].macs(n, h, w));
                try (Tensor phase = phases[i].forward(p.ws, x, null, 1f)) {           // [N, out, H, W]
                    if (out == null) out = allocateLike(p, phase, n, 2 * h, 2 * w);
                    try (Tensor dst = everyOther(out, i / 2, i % 2)) {
                        p.k.copyInto(p.ws, phase, dst);
                    }
                }
            }
            if (adapter == null) return out;
            Tensor delta;
            try (Tensor up = p.k.upsampleNearest(p.ws, x, (int) (2 * h), (int) (2 * w))) {
                delta = adapter.conv2dDelta(path, p.k, p.ws, up);
            }
            if (delta == null) return out;
            try (Tensor d = delta; Tensor base = out) {
                out = null;
                return p.k.add(p.ws, base, d, 1f, 1f);
            }
        } catch (RuntimeException e) {
            if (out != null) out.close();
            throw e;
        }
    }

    /** A new {@code [n, out, h2, w2]} map in the layout the phase layer produced (channels-last or row-major). */
    private Tensor allocateLike(Pass p, Tensor phase, long n, long h2, long w2) {
        return phase.isChannelsLast()
                ? Tensor.allocateChannelsLast(p.ws.allocator(), n, spec.outChannels(), h2, w2)
                : Tensor.allocate(p.ws.allocator(), n, spec.outChannels(), h2, w2);
    }

    /** The view of {@code out} at rows {@code 2i + a} and columns {@code 2j + b}. */
    private static Tensor everyOther(Tensor out, int a, int b) {
        long[] s = out.strides();
        return out.view(new long[]{out.dim(0), out.dim(1), out.dim(2) / 2, out.dim(3) / 2},
                new long[]{s[0], s[1], 2 * s[2], 2 * s[3]}, out.offset() + a * s[2] + b * s[3]);
    }

    @Override
    public void close() {
        for (Conv2d c : phases) {
            if (c != null) c.close();
        }
    }
}
