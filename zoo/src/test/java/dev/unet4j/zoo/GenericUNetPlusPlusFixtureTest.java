package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nnU-Net's UNet++ against the official PyTorch run (unetpp-tiny): every head and every hooked node, both backends. */
class GenericUNetPlusPlusFixtureTest extends ZooFixtureTest {
    GenericUNetPlusPlusFixtureTest() throws IOException {
        super(ZooFixture.UNETPP);
    }

    private void checkAll(Kernels k) throws Exception {
        try (ZooModel<?> m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(GenericUNetPlusPlus.class, m);
            assertEquals(212_064, m.parameterCount());
            ZooFixture.Checked c = fx.checkStored("UNet++ " + k.name(), s, "x", name -> true, 46);
            assertEquals(List.of("output.0", "output.1", "output.2", "output.3", "output.4"), c.outputNames());
        }
    }

    @Test
    void everyHeadAndNodeMatchesOnReference() throws Exception {
        checkAll(new ReferenceKernels());
    }

    @Test
    void everyHeadAndNodeMatchesOnOneDnn() throws Exception {
        checkAll(dnnl);
    }

    /** Pruned L_k computes only x_i_j with i + j <= k, and its heads equal the full model's stored heads. */
    @Test
    void prunedDepthsComputeOnlyTheirNodesAndMatchTheStoredHeads() throws Exception {
        try (ZooModel<?> m = fx.load(dnnl); ZooSession s = m.newSession()) {
            GenericUNetPlusPlus upp = (GenericUNetPlusPlus) m;
            for (int depth = 1; depth <= 4; depth++) {
                Set<String> visited = new HashSet<>();
                s.setInterceptor(new NodeInterceptor() {
                    @Override
                    public Tensor intercept(NodeCall call) {
                        visited.add(call.path());
                        return call.proceed();
                    }
                });
                Map<String, Tensor> out = upp.forward(s, fx.inputs.get("x"), depth);
                try {
                    assertEquals(depth, out.size());
                    for (int j = 1; j <= depth; j++) {
                        String name = "output." + (5 - j);
                        ZooFixture.assertClose("L" + depth + " " + name, fx.outputs.get(name), out.get(name));
                    }
                    for (int i = 0; i <= 5; i++) {
                        for (int j = 0; i + j <= 5; j++) {
                            String path = upp.nodePath(i, j);
                            assertEquals(i + j <= depth, visited.contains(path), "L" + depth + ": node x_" + i + "_" + j + " (" + path + ") visited");
                        }
                    }
                    assertFalse(visited.contains("seg_outputs.0"), "L" + depth + " must not run the full model's head");
                } finally {
                    out.values().forEach(Tensor::close);
                }
            }
        }
    }
}
