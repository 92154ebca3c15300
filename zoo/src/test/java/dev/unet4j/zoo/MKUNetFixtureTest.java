package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.zoo.mkunet.MKUNet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** MK-UNet against the official PyTorch run (mkunet-tiny): the output and all 85 hooked tensors, both backends. */
class MKUNetFixtureTest {
    private static ZooFixture fx;
    private static DnnlKernels dnnl;

    @BeforeAll
    static void open() throws Exception {
        fx = new ZooFixture(ZooFixture.MKUNET);
        dnnl = new DnnlKernels();
    }

    @AfterAll
    static void close() {
        fx.close();
        dnnl.close();
    }

    private static void checkAll(Kernels k) throws Exception {
        double worst = 0;
        String worstName = null;
        try (ZooModel m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(MKUNet.class, m);
            assertEquals(27_384 + 2_616, m.parameterCount()); // parameters + BatchNorm running mean and variance (1,308 channels)
            s.capture(fx.outputs.keySet());
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                int checked = 0;
                for (var e : fx.outputs.entrySet()) {
                    Tensor actual = e.getKey().equals("output") ? out.get("output") : s.captured(e.getKey());
                    assertNotNull(actual, "no output or capture " + e.getKey());
                    double rel = ZooFixture.assertClose(k.name() + " " + e.getKey(), e.getValue(), actual);
                    if (rel > worst) {
                        worst = rel;
                        worstName = e.getKey();
                    }
                    checked++;
                }
                assertEquals(86, checked);
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
        System.out.printf("MK-UNet %s: worst relative error over 86 tensors %.3g (%s)%n", k.name(), worst, worstName);
    }

    @Test
    void outputAndEveryHookMatchOnReference() throws Exception {
        checkAll(new ReferenceKernels());
    }

    @Test
    void outputAndEveryHookMatchOnOneDnn() throws Exception {
        checkAll(dnnl);
    }
}
