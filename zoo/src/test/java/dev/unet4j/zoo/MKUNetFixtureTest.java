package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.zoo.mkunet.MKUNet;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** MK-UNet against the official PyTorch run (mkunet-tiny): the output and all 85 hooked tensors, both backends. */
class MKUNetFixtureTest extends ZooFixtureTest {
    MKUNetFixtureTest() throws IOException {
        super(ZooFixture.MKUNET);
    }

    private void checkAll(Kernels k) throws Exception {
        try (ZooModel<?> m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(MKUNet.class, m);
            assertEquals(27_384 + 2_616, m.parameterCount()); // parameters + BatchNorm running mean and variance (1,308 channels)
            fx.checkStored("MK-UNet " + k.name(), s, "x", name -> true, 86);
        }
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
