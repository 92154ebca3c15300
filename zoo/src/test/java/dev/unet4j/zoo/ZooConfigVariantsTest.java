package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.checkpoint.DiffusersConfig;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.RandomParameterSource;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import dev.unet4j.zoo.mkunet.MKUNet;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Configurations of the three classes beyond the fixtures (BatchNorm instead of InstanceNorm, 3-D UNet++, the other
 * basic block, softmax heads, transposed-conv DDoS with BatchNorm3d, deeper and wider MK-UNets): each builds from
 * seeded weights and runs on oneDNN as on the reference backend, with the output shapes the official code gives.
 */
class ZooConfigVariantsTest {
    private static final DnnlKernels DNNL = new DnnlKernels();
    private static final ReferenceKernels REF = new ReferenceKernels();

    @AfterAll
    static void close() {
        DNNL.close();
    }

    /** Seeded weights (BatchNorm running variances positive). */
    private static ParameterSource weights() {
        return new RandomParameterSource(42);
    }

    private static Tensor input(long... shape) {
        Random r = new Random(3);
        float[] v = new float[(int) Tensor.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return Tensor.of(v, shape);
    }

    /** Runs the model built by {@code build} on both backends; returns the output shapes, checking they agree. */
    private static Map<String, long[]> bothBackends(String what, Function<Kernels, ZooModel<?>> build, Tensor x) {
        Map<String, float[]> ref = new java.util.LinkedHashMap<>();
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        try (ZooModel<?> m = build.apply(REF); ZooSession s = m.newSession()) {
            Map<String, Tensor> out = s.forward(x);
            assertEquals(m.outputNames(), List.copyOf(out.keySet()), what + ": output names");
            out.forEach((k, v) -> {
                ref.put(k, v.toFloatArray());
                shapes.put(k, v.shape());
                v.close();
            });
        }
        try (ZooModel<?> m = build.apply(DNNL); ZooSession s = m.newSession()) {
            Map<String, Tensor> out = s.forward(x);
            for (var e : out.entrySet()) {
                try (Tensor t = e.getValue()) {
                    assertArrayEquals(shapes.get(e.getKey()), t.shape(), what + " " + e.getKey());
                    try (Tensor want = Tensor.of(ref.get(e.getKey()), t.shape())) {
                        double rel = ZooFixture.relativeError(want, t);
                        assertTrue(rel <= ZooFixture.TOLERANCE, what + " " + e.getKey() + ": oneDNN vs reference " + rel);
                        assertTrue(Float.isFinite(t.toFloatArray()[0]), what + ": finite");
                    }
                }
            }
        }
        return shapes;
    }

    private static DiffusersConfig json(String s) {
        try {
            return DiffusersConfig.parse(s.replace('\'', '"'), "variant");
        } catch (dev.unet4j.core.checkpoint.ModelException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void unetPlusPlusWithBatchNormReluSoftmaxAndThreeConvsPerStage() {
        GenericUNetPlusPlus.Config c = GenericUNetPlusPlus.Config.from(json("{'_class_name': 'Generic_UNetPlusPlus', 'input_channels': 2,"
                + " 'base_num_features': 3, 'num_classes': 4, 'num_pool': 5, 'num_conv_per_stage': 3, 'norm_op': 'torch.nn.BatchNorm2d',"
                + " 'nonlin': 'torch.nn.ReLU', 'basic_block': 'ConvDropoutNonlinNorm', 'deep_supervision': false,"
                + " 'pool_op_kernel_sizes': [[2, 1], [2, 2], [2, 2], [1, 2], [2, 2]],"
                + " 'conv_kernel_sizes': [[3, 3], [3, 1], [3, 3], [3, 3], [1, 3], [3, 3]],"
                + " 'convolutional_pooling': true, 'convolutional_upsampling': true, 'max_num_features': 20}"));
        try (Tensor x = input(2, 2, 32, 16)) {
            Map<String, long[]> out = bothBackends("UNet++ BN", k -> GenericUNetPlusPlus.build(c, weights(), "seeded", LoadOptions.of(k)), x);
            assertArrayEquals(new long[]{2, 4, 32, 16}, out.get("output"));
        }
        // softmax_helper: the class probabilities of every pixel sum to one
        try (Tensor x = input(1, 2, 32, 16); ZooModel<?> m = GenericUNetPlusPlus.build(new GenericUNetPlusPlus.Config(c.inputChannels(),
                c.baseNumFeatures(), c.numClasses(), c.numPool(), c.numConvPerStage(), c.featMapMulOnDownscale(), 2, c.normKind(), c.normEps(),
                c.normAffine(), c.nonlin(), c.nonlinBeforeNorm(), false, true, c.poolOpKernelSizes(), c.convKernelSizes(), c.maxNumFeatures(),
                false), weights(), "seeded", LoadOptions.of(DNNL)); ZooSession s = m.newSession()) {
            Map<String, Tensor> out = s.forward(x);
            try (Tensor p = out.get("output")) {
                for (int i = 0; i < 32 * 16; i += 37) {
                    double sum = 0;
                    for (int cl = 0; cl < 4; cl++) sum += p.get(0, cl, i / 16, i % 16);
                    assertEquals(1.0, sum, 1e-5);
                }
            }
        }
    }

    @Test
    void unetPlusPlusIn3d() {
        GenericUNetPlusPlus.Config c = GenericUNetPlusPlus.Config.from(json("{'_class_name': 'Generic_UNetPlusPlus', 'input_channels': 1,"
                + " 'base_num_features': 2, 'num_classes': 2, 'num_pool': 5, 'conv_op': 'torch.nn.Conv3d', 'norm_op': 'torch.nn.InstanceNorm3d',"
                + " 'norm_op_kwargs': {'eps': 1e-5, 'affine': true}, 'final_nonlin': 'lambda x: x', 'max_num_features': 8,"
                + " 'pool_op_kernel_sizes': [[1, 2, 2], [2, 2, 2], [1, 2, 2], [2, 2, 2], [1, 2, 2]],"
                + " 'convolutional_pooling': true, 'convolutional_upsampling': true}"));
        try (Tensor x = input(1, 1, 4, 32, 32)) {
            Map<String, long[]> out = bothBackends("UNet++ 3-D", k -> GenericUNetPlusPlus.build(c, weights(), "seeded", LoadOptions.of(k)), x);
            assertEquals(5, out.size());
            assertArrayEquals(new long[]{1, 2, 4, 32, 32}, out.get("output.4"));
        }
    }

    @Test
    void ddosWithTransposedConvolutionsAndBatchNorm() {
        DdosUNet3D.Config c = DdosUNet3D.Config.from(json("{'_class_name': 'UNet', 'in_channels': 2, 'n_classes': 3, 'depth': 4, 'wf': 1,"
                + " 'batch_norm': true, 'up_mode': 'upconv'}"));
        try (Tensor x = input(1, 2, 8, 16, 8)) {
            Map<String, long[]> out = bothBackends("DDoS upconv BN", k -> DdosUNet3D.build(c, weights(), "seeded", LoadOptions.of(k)), x);
            assertArrayEquals(new long[]{1, 3, 8, 16, 8}, out.get("output"));
        }
        // odd sizes: the transposed conv's output is resized to each skip
        try (Tensor x = input(1, 2, 9, 11, 10)) {
            Map<String, long[]> out = bothBackends("DDoS upconv odd", k -> DdosUNet3D.build(c, weights(), "seeded", LoadOptions.of(k)), x);
            assertArrayEquals(new long[]{1, 3, 9, 11, 10}, out.get("output"));
        }
    }

    @Test
    void mkUNetDeeperWiderWithOtherKernels() {
        MKUNet.Config c = MKUNet.Config.from(json("{'_class_name': 'MK_UNet', 'num_classes': 2, 'in_channels': 3,"
                + " 'channels': [8, 12, 16, 20, 24], 'depths': [2, 1, 1, 1, 2], 'kernel_sizes': [3, 5, 7], 'expansion_factor': 3, 'gag_kernel': 1}"));
        try (Tensor x = input(2, 1, 32, 64)) { // a 1-channel input is repeated to 3 channels
            Map<String, long[]> out = bothBackends("MK-UNet variant", k -> MKUNet.build(c, weights(), "seeded", LoadOptions.of(k)), x);
            assertArrayEquals(new long[]{2, 2, 32, 64}, out.get("output"));
        }
    }
}
