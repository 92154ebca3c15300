package dev.unet4j.core.kernels;

import dev.unet4j.core.tensor.Tensor;

import static dev.unet4j.core.kernels.RefTensors.error;
import static dev.unet4j.core.kernels.RefTensors.read;
import static dev.unet4j.core.kernels.RefTensors.requireShape;
import static dev.unet4j.core.kernels.RefTensors.requireVectorOrNull;
import static dev.unet4j.core.kernels.RefTensors.shape;

/** {@code y = x W^T + b} over the last dimension, dot products in double. The prepared form keeps float copies. */
final class RefLinear implements Linear {
    private static final String OP = "linear";
    private final int in, out;
    private final float[] weight;
    private final float[] bias;
    private volatile boolean closed;

    RefLinear(Tensor weight, Tensor bias) {
        checkWeights(weight, bias);
        this.out = (int) weight.dim(0);
        this.in = (int) weight.dim(1);
        this.weight = read(weight);
        this.bias = bias == null ? null : read(bias);
    }

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    @Override
    public Tensor forward(Workspace ws, Tensor x, Tensor residual, float outputScale) {
        if (closed) throw new IllegalStateException("linear " + in + "->" + out + " used after close");
        return compute(ws, x, weight, out, in, bias, residual, outputScale);
    }

    @Override
    public void close() {
        closed = true;
    }

    static void checkWeights(Tensor weight, Tensor bias) {
        if (weight.rank() != 2) throw error(OP, "weight must be [out, in], got " + shape(weight));
        requireVectorOrNull(OP, "bias", bias, weight.dim(0));
    }

    /** {@code (x w^T + b + residual) * outputScale} with {@code w} row-major {@code [outF, inF]}. */
    static Tensor compute(Workspace ws, Tensor x, float[] w, int outF, int inF, float[] b, Tensor residual, float outputScale) {
        if (x.rank() < 1 || x.dim(-1) != inF) {
            throw error(OP, "input " + shape(x) + " does not end in " + inF + " features (weight [" + outF + ", " + inF + "])");
        }
        long[] outShape = x.shape();
        outShape[outShape.length - 1] = outF;
        if (residual != null) requireShape(OP, "residual", residual, outShape);
        float[] xs = read(x);
        float[] res = residual == null ? null : read(residual);
        float[] y = new float[RefTensors.size(OP, outShape)];
        int rows = outF == 0 ? 0 : y.length / outF; // product of the leading dimensions
        for (int r = 0; r < rows; r++) {
            int xRow = r * inF;
            for (int o = 0; o < outF; o++) {
                int wRow = o * inF;
                double acc = b == null ? 0.0 : b[o];
                for (int i = 0; i < inF; i++) acc += (double) xs[xRow + i] * w[wRow + i];
                if (res != null) acc += res[r * outF + o];
                y[r * outF + o] = (float) (acc * outputScale);
            }
        }
        return RefTensors.write(ws, outShape, y);
    }
}
