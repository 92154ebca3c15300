package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.zoo.ddos.DdosUNet3D;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** DDoS-UNet's 3-D UNet against the official PyTorch run (ddos-unet-tiny): x, the odd-sized x_odd and every hook. */
class DdosUNet3DFixtureTest {
    private static ZooFixture fx;
    private static DnnlKernels dnnl;

    @BeforeAll
    static void open() throws Exception {
        fx = new ZooFixture(ZooFixture.DDOS);
        dnnl = new DnnlKernels();
    }

    @AfterAll
    static void close() {
        fx.close();
        dnnl.close();
    }

    private static void checkAll(Kernels k) throws Exception {
        double worst = 0;
        try (ZooModel m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(DdosUNet3D.class, m);
            assertEquals(20_345, m.parameterCount());
            s.capture(fx.outputs.keySet());
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                worst = ZooFixture.assertClose(k.name() + " output", fx.outputs.get("output"), out.get("output"));
                int hooks = 0;
                for (var e : fx.outputs.entrySet()) {
                    if (e.getKey().startsWith("output")) continue;
                    Tensor c = s.captured(e.getKey());
                    assertNotNull(c, "no capture " + e.getKey());
                    worst = Math.max(worst, ZooFixture.assertClose(k.name() + " " + e.getKey(), e.getValue(), c));
                    hooks++;
                }
                assertEquals(8, hooks);
            } finally {
                out.values().forEach(Tensor::close);
            }
            Map<String, Tensor> odd = s.forward(fx.inputs.get("x_odd"));
            try {
                worst = Math.max(worst, ZooFixture.assertClose(k.name() + " output_odd", fx.outputs.get("output_odd"), odd.get("output")));
            } finally {
                odd.values().forEach(Tensor::close);
            }
        }
        System.out.printf("DDoS-UNet %s: worst relative error over 10 tensors %.3g%n", k.name(), worst);
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
        try (ZooModel m = fx.load(dnnl); ZooSession s = m.newSession();
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
