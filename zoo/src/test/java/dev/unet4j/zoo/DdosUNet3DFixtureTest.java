package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** DDoS-UNet's 3-D UNet against the official PyTorch run (ddos-unet-tiny): x, the odd-sized x_odd and every hook. */
class DdosUNet3DFixtureTest extends ZooFixtureTest {
    DdosUNet3DFixtureTest() throws IOException {
        super(ZooFixture.DDOS);
    }

    private void checkAll(Kernels k) throws Exception {
        try (ZooModel<?> m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(DdosUNet3D.class, m);
            assertEquals(20_345, m.parameterCount());
            fx.checkStored("DDoS-UNet " + k.name(), s, "x", name -> !name.equals("output_odd"), 9); // output and 8 hooks
            Map<String, Tensor> odd = s.forward(fx.inputs.get("x_odd"));
            try {
                ZooFixture.assertClose(k.name() + " output_odd", fx.outputs.get("output_odd"), odd.get("output"));
            } finally {
                odd.values().forEach(Tensor::close);
            }
        }
    }

    @Test
    void outputsAndHooksMatchOnReference() throws Exception {
        checkAll(new ReferenceKernels());
    }

    @Test
    void outputsAndHooksMatchOnOneDnn() throws Exception {
        checkAll(dnnl);
    }

    /**
     * The step-wise prior: time point 0 from (x's prior channel, x's current channel) is the stored output; time point 1
     * takes that output as its prior, which must equal one plain call on the concatenation built here by hand.
     */
    @Test
    void seriesFeedsEachOutputAsTheNextPrior() throws Exception {
        Tensor x = fx.inputs.get("x"); // [2, 2, 8, 12, 16]
        try (ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession();
             Tensor prior = x.narrow(1, 0, 1).copy(dev.unet4j.core.tensor.Allocator.direct());
             Tensor current = x.narrow(1, 1, 1).copy(dev.unet4j.core.tensor.Allocator.direct())) {
            List<Tensor> outs = ((DdosUNet3D) m).superResolveSeries(s, prior, List.of(current, current));
            try {
                assertEquals(2, outs.size());
                ZooFixture.assertClose("t0", fx.outputs.get("output"), outs.get(0));
                float[] p1 = outs.get(0).toFloatArray(), c = current.toFloatArray(), both = new float[p1.length + c.length];
                int plane = p1.length / 2; // per batch item: one channel of 8*12*16
                for (int b = 0; b < 2; b++) {
                    System.arraycopy(p1, b * plane, both, b * 2 * plane, plane);
                    System.arraycopy(c, b * plane, both, b * 2 * plane + plane, plane);
                }
                try (Tensor in = Tensor.of(both, 2, 2, 8, 12, 16)) {
                    Map<String, Tensor> direct = s.forward(in);
                    try {
                        assertEquals(0.0, ZooFixture.relativeError(direct.get("output"), outs.get(1)), 0.0, "t1 equals one call on (output t0, current)");
                    } finally {
                        direct.values().forEach(Tensor::close);
                    }
                }
            } finally {
                outs.forEach(Tensor::close);
            }
        }
    }
}
