package dev.unet4j.vae;

import dev.unet4j.core.io.SafetensorsFile;
import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.ReferenceKernels;
import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Allocator;
import dev.unet4j.core.tensor.Tensor;

import dev.unet4j.core.testing.Closeness;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared helpers of the VAE tests. */
final class VaeTesting {
    private VaeTesting() {
    }

    static Kernels kernels(String name) {
        return name.equals("reference") ? new ReferenceKernels() : new DnnlKernels();
    }

    /** Every float tensor of a safetensors file, standalone. */
    static Map<String, Tensor> read(Path p) throws IOException {
        Map<String, Tensor> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            for (String n : f.names()) if (f.info(n).dtype().isFloatingPoint()) m.put(n, f.load(n, Allocator.direct()));
        }
        return m;
    }

    /** The fixtures' tolerance for one model call: max|diff| <= 1e-4 * max|ref|. Returns the relative error. */
    static double assertClose(String what, Tensor ref, Tensor actual, double tol) {
        double e = Closeness.relError(ref, actual);
        assertTrue(e <= tol, what + ": max|diff| / max|ref| = " + e + " > " + tol);
        return e;
    }
}
