package dev.unet4j.nd4j;

import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * oneDNN's natives loaded before ND4J's in a fresh JVM (the pom gives every test class its own): ND4J must still
 * load on the JavaCPP 1.5.13 that oneDNN brought, read oneDNN's output in place, and multiply matrices right through
 * OpenBLAS next to oneDNN's OpenMP runtime. Truth: SiLU and the matrix product written as Java loops.
 */
class OneDnnFirstTest {
    @Test
    void nd4jLoadsAfterOneDnnAndComputesOnItsOutput() {
        Random r = new Random(11);
        int m = 7, k = 33, n = 5;
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian();
        try (DnnlKernels kernels = new DnnlKernels();
             Workspace ws = kernels.newWorkspace(Allocator.direct());
             Tensor x = Tensor.of(a, m, k);
             Tensor y = kernels.silu(ws, x)) {                      // oneDNN runs before ND4J is touched
            INDArray siluA = Nd4jTensors.asINDArray(y);              // ND4J's natives load here
            INDArray c = siluA.mmul(Nd4j.create(b, new long[]{k, n}, DataType.FLOAT));
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double v = a[i * k + p];
                        s += v / (1 + Math.exp(-v)) * b[p * n + j];
                    }
                    assertEquals(s, c.getDouble(i, j), 1e-4, "C[" + i + "," + j + "] = silu(A) B (oneDNN's SiLU, ND4J's gemm)");
                }
            }
        }
    }
}
