package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.TimestepEmbedding;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/**
 * {@code time_proj}: diffusers {@code Timesteps} (sinusoidal) or {@code GaussianFourierProjection}. Input: the
 * timesteps as a float32 {@code [B]} tensor; output {@code [B, outDim]}.
 */
public final class TimeProjection extends Node {

    /**
     * @param fourier      Gaussian Fourier instead of sinusoidal
     * @param dim          sinusoid width (positional) or Fourier embedding size E (output 2E)
     * @param flipSinToCos [cos, sin] order
     * @param freqShift    downscale_freq_shift (positional)
     * @param log          Fourier: project log(t) (UNet2DModel) rather than t (UNet2DConditionModel)
     */
    public record Spec(boolean fourier, int dim, boolean flipSinToCos, double freqShift, boolean log) {
        public int outDim() {
            return fourier ? 2 * dim : dim;
        }
    }

    private final Spec spec;
    private final float[] fourierWeight;

    public TimeProjection(VarBuilder vb, Spec s) {
        super(vb.path(), NodeLevel.STEM, NodeKind.TIME_PROJECTION);
        this.spec = s;
        if (s.fourier) {
            try (Tensor w = vb.tensor("weight", s.dim)) {
                fourierWeight = w.toFloatArray();
            }
        } else {
            fourierWeight = null;
        }
    }

    public Spec spec() {
        return spec;
    }

    /** The projection of {@code values} as a {@code [B, outDim]} tensor from the pass's allocator. */
    Tensor project(Pass p, double[] values) {
        float[] emb = spec.fourier
                ? TimestepEmbedding.gaussianFourier(values, fourierWeight, spec.log, spec.flipSinToCos)
                : TimestepEmbedding.sinusoidal(values, spec.dim, spec.flipSinToCos, spec.freqShift);
        Tensor out = Tensor.allocate(p.ws.allocator(), values.length, spec.outDim()); // [B, outDim]
        out.setFrom(emb);
        return out;
    }

    @Override
    protected Tensor forward(Pass p, Tensor timesteps) {
        float[] t = timesteps.toFloatArray();
        double[] d = new double[t.length];
        for (int i = 0; i < t.length; i++) d[i] = t[i];
        return project(p, d);
    }
}
