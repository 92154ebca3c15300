package dev.unet4j.zoo;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.zoo.unetpp.GenericUNetPlusPlus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nnU-Net's UNet++ against the official PyTorch run (unetpp-tiny): every head and every hooked node, both backends. */
class GenericUNetPlusPlusFixtureTest {
    private static ZooFixture fx;
    private static DnnlKernels dnnl;

    @BeforeAll
    static void open() throws Exception {
        fx = new ZooFixture(ZooFixture.UNETPP);
        dnnl = new DnnlKernels();
    }

    @AfterAll
    static void close() {
        fx.close();
        dnnl.close();
    }

    private static double checkAll(Kernels k) throws Exception {
        double worst = 0;
        try (ZooModel m = fx.load(k); ZooSession s = m.newSession()) {
            assertInstanceOf(GenericUNetPlusPlus.class, m);
            assertEquals(212_064, m.parameterCount());
            s.capture(fx.outputs.keySet());
            Map<String, Tensor> out = s.forward(fx.inputs.get("x"));
            try {
                assertEquals(List.of("output.0", "output.1", "output.2", "output.3", "output.4"), new ArrayList<>(out.keySet()));
                int checked = 0;
                for (var e : fx.outputs.entrySet()) {
                    Tensor actual = out.containsKey(e.getKey()) ? out.get(e.getKey()) : s.captured(e.getKey());
                    assertTrue(actual != null, "no output or capture " + e.getKey());
                    worst = Math.max(worst, ZooFixture.assertClose(k.name() + " " + e.getKey(), e.getValue(), actual));
                    checked++;
                }
                assertEquals(46, checked);
            } finally {
                out.values().forEach(Tensor::close);
            }
        }
        System.out.printf("UNet++ %s: worst relative error over 46 tensors %.3g%n", k.name(), worst);
        return worst;
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
        try (ZooModel m = fx.load(dnnl); ZooSession s = m.newSession()) {
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
