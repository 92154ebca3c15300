package dev.unet4j.nd4j;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.unet.LoadOptions;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both native runtimes in one JVM, ND4J's loaded first ({@code libnd4jcpu}, its JNI built with JavaCPP 1.5.7, on
 * OpenBLAS) and then unet4j's oneDNN (JavaCPP 1.5.13); {@link OneDnnFirstTest} loads them the other way round (each
 * test class runs in a JVM of its own, see the pom). A diffusers UNet call on an input made as an INDArray must give
 * diffusers' own output (the {@code unet2d-ddpm-tiny} fixture, PyTorch float32), read and checked by ND4J's kernels.
 */
class Nd4jUNetForwardTest {
    private static final String FIXTURE = "unet2d-ddpm-tiny";

    /** A stored F32 tensor read straight from the file's bytes into an ND4J array (no unet4j tensor in between). */
    private static INDArray read(SafetensorsFile file, String name) throws IOException {
        FloatBuffer fb = file.slice(name).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] v = new float[fb.remaining()];
        fb.get(v);
        return Nd4j.create(v, file.info(name).shape(), DataType.FLOAT);
    }

    @BeforeAll
    static void loadNd4jFirst() {
        assertEquals(6.0, Nd4j.create(new float[]{1, 2, 3}, new long[]{3}, DataType.FLOAT).sumNumber().doubleValue());
    }

    @Test
    void aUNetCallOnAnINDArrayGivesDiffusersOutputAsAnINDArray() throws IOException {
        Path dir = Fixtures.fixture(FIXTURE);
        INDArray sample, timestep, expected;
        try (SafetensorsFile in = SafetensorsFile.open(dir.resolve("inputs.safetensors"));
             SafetensorsFile out = SafetensorsFile.open(dir.resolve("outputs.safetensors"))) {
            sample = read(in, "sample");
            timestep = read(in, "timestep");
            expected = read(out, "sample");
        }
        float[] want = expected.data().asFloat();
        double maxRef = expected.amaxNumber().doubleValue();
        try (DnnlKernels kernels = new DnnlKernels();
             UNetModel model = UNetModel.load(dir, LoadOptions.of(kernels));
             UNetSession session = model.newSession()) {
            for (char order : new char[]{'c', 'f'}) {                 // f order reaches the kernels as a strided view
                INDArray input = sample.dup(order);
                assertTrue(Nd4jTensors.sharesMemory(input), "a float32 input is handed over without a copy");
                try (Tensor x = Nd4jTensors.toTensor(input);
                     Tensor y = session.forward(UNetInputs.builder(x, Timestep.float32(timestep.toFloatVector())).build())) {
                    INDArray result = Nd4jTensors.asINDArray(y);
                    assertArrayEquals(expected.shape(), result.shape());
                    float[] got = result.dup('c').data().asFloat();    // ND4J reading oneDNN's output in place
                    double maxDiff = 0;
                    for (int i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs((double) want[i] - got[i]));
                    double tol = 1e-4 * (1 + maxRef);                  // the fixtures' tolerance for one UNet call
                    assertTrue(maxDiff <= tol, order + " order: max|diff| " + maxDiff + " > " + tol);
                    // ND4J's own kernels on that memory agree with the Java loop above
                    double nd4jMaxDiff = Transforms.abs(result.sub(expected)).maxNumber().doubleValue();
                    assertEquals(maxDiff, nd4jMaxDiff, 1e-7, order + " order: ND4J's max|diff|");
                }
            }
        }
    }
}
