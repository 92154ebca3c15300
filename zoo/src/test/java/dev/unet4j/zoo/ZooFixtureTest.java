package dev.unet4j.zoo;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;

/**
 * What every zoo test class opens once and closes after its last test: a oneDNN backend and, for the classes that test
 * one model against its official PyTorch run, that fixture.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ZooFixtureTest {
    /** The class's fixture, or null for classes that open the fixtures they need per test. */
    final ZooFixture fx;
    final DnnlKernels dnnl;

    /** No fixture of its own. */
    ZooFixtureTest() {
        fx = null;
        dnnl = new DnnlKernels();
    }

    /** The fixture {@code name} ({@link ZooFixture#MKUNET}, ...). */
    ZooFixtureTest(String name) throws IOException {
        fx = new ZooFixture(name);
        dnnl = new DnnlKernels();
    }

    @AfterAll
    final void closeFixtureAndKernels() {
        if (fx != null) fx.close();
        dnnl.close();
    }
}
