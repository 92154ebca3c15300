package dev.unet4j.zoo.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.nn.VarBuilder;

/**
 * An eval-mode BatchNorm folded into the convolution before it (Jacob et al. 2018, "Quantization and Training of
 * Neural Networks for Efficient Integer-Arithmetic-Only Inference", batch normalization folding; ONNX Runtime's Conv+BatchNormalization
 * fusion): with {@code a = gamma / sqrt(running_var + eps)} per output channel,
 * {@code BN(conv(x; w, b)) = conv(x; w * a, (b - running_mean) * a + beta)}. One convolution instead of a convolution
 * and a pass over its output; per-output-channel weight quantization sees the same codes (each row is only scaled).
 */
public final class BatchNormFolding {
    private BatchNormFolding() {
    }

    /** The folded weight and bias, owned by the caller. */
    public record Folded(Tensor weight, Tensor bias) implements AutoCloseable {
        @Override
        public void close() {
            weight.close();
            bias.close();
        }
    }

    /**
     * Folds the affine BatchNorm stored at {@code bn} ({@code weight}, {@code bias}, {@code running_mean},
     * {@code running_var}, read here) into {@code weight} ({@code [out, ...]}) and {@code bias} ({@code [out]} or null:
     * zero); both borrowed. Computed in double, rounded once.
     */
    public static Folded fold(Tensor weight, Tensor bias, VarBuilder bn, double eps) {
        int out = Math.toIntExact(weight.dim(0));
        float[] w = weight.toFloatArray(), b = bias == null ? new float[out] : bias.toFloatArray();
        float[] gamma, beta, mean, var;
        try (Tensor g = bn.tensor("weight", out); Tensor be = bn.tensor("bias", out);
             Tensor m = bn.tensor("running_mean", out); Tensor v = bn.tensor("running_var", out)) {
            gamma = g.toFloatArray();
            beta = be.toFloatArray();
            mean = m.toFloatArray();
            var = v.toFloatArray();
        }
        int per = w.length / out;
        float[] fb = new float[out];
        for (int o = 0; o < out; o++) {
            double a = gamma[o] / Math.sqrt((double) var[o] + eps);
            for (int i = o * per; i < (o + 1) * per; i++) w[i] = (float) (w[i] * a);
            fb[o] = (float) ((b[o] - (double) mean[o]) * a + beta[o]);
        }
        Tensor fw = Tensor.of(w, weight.shape());
        return new Folded(fw, Tensor.of(fb, out));
    }
}
