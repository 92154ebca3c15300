package dev.unet4j.vae;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** One loaded VAE shared by several threads: every call gives what a lone call gives. */
class ConcurrencyTest {
    @Test
    void concurrentDecodesAndEncodesEqualSequentialOnes() throws Exception {
        try (AutoencoderKL vae = AutoencoderKL.load(Fixtures.fixture("vae-tiny"), VaeTesting.kernels("onednn"));
             Tensor z = TilingTest.random(21, 1, 4, 12, 10); Tensor img = TilingTest.random(22, 1, 3, 20, 16);
             Tensor zRef = vae.decode(z); LatentDistribution dRef = vae.encode(img)) {
            float[] decoded = zRef.toFloatArray(), mean = dRef.mean().toFloatArray();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<float[][]>> runs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    runs.add(pool.submit(() -> {
                        try (Tensor d = vae.decode(z); LatentDistribution e = vae.encode(img)) {
                            return new float[][]{d.toFloatArray(), e.mean().toFloatArray()};
                        }
                    }));
                }
                for (Future<float[][]> f : runs) {
                    float[][] r = f.get();
                    assertArrayEquals(decoded, r[0]);
                    assertArrayEquals(mean, r[1]);
                }
            } finally {
                pool.shutdown();
            }
        }
    }
}
