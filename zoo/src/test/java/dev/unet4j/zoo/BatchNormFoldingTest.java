package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.unet.nn.Weights;
import dev.unet4j.zoo.nn.BatchNormFolding;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A convolution with the following eval-mode BatchNorm folded in equals the convolution and then the BatchNorm. */
class BatchNormFoldingTest {
    @Test
    void foldedConvolutionEqualsConvolutionThenBatchNorm() throws Exception {
        ReferenceKernels k = new ReferenceKernels();
        RandomParameterSource random = new RandomParameterSource(5); // running variances positive
        Conv2dSpec spec = new Conv2dSpec(6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3); // grouped, as MK-UNet's gates
        long[] wShape = spec.weightShape();
        Weights weights = new Weights(random, "seeded", LayerFactory.of(k));
        Random r = new Random(11);
        float[] xv = new float[2 * 6 * 7 * 5];
        for (int i = 0; i < xv.length; i++) xv[i] = (float) r.nextGaussian();
        try (Workspace ws = k.newWorkspace(Allocator.direct()); Tensor x = Tensor.of(xv, 2, 6, 7, 5);
             Tensor w = random.load("c.weight", wShape); Tensor b = random.load("c.bias", new long[]{6});
             Tensor g = random.load("bn.weight", new long[]{6}); Tensor beta = random.load("bn.bias", new long[]{6});
             Tensor mean = random.load("bn.running_mean", new long[]{6}); Tensor var = random.load("bn.running_var", new long[]{6});
             BatchNormFolding.Folded f = BatchNormFolding.fold(w, b, weights.root().pp("bn"), 1e-5);
             Tensor conv = k.conv2d(ws, spec, x, w, b, null, 1f);
             Tensor want = k.batchNorm(ws, conv, mean, var, g, beta, 1e-5f);
             Tensor got = k.conv2d(ws, spec, x, f.weight(), f.bias(), null, 1f)) {
            double rel = ZooFixture.relativeError(want, got);
            assertTrue(rel < 1e-6, "folded vs conv + BatchNorm: " + rel);
        }
    }
}
