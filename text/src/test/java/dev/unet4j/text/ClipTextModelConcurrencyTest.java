package dev.unet4j.text;

import dev.unet4j.core.kernels.dnnl.DnnlKernels;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.core.testing.Closeness;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** One loaded encoder shared by threads: every call gets its own workspace and the same answer. */
class ClipTextModelConcurrencyTest {

    @Test
    void sharedModelGivesEachThreadTheSequentialAnswer() throws Exception {
        int[][][] inputs = {
                {{49406, 320, 1125, 539, 49407, 49407, 49407}},
                {{49406, 2368, 49407, 49407, 49407, 49407, 49407}, {49406, 1929, 1929, 49407, 49407, 49407, 49407}},
                {{49406, 7, 8, 9, 10, 11, 49407}}};
        try (ClipTextModel model = ClipTextModel.load(EncoderFixture.modelDir("proj"), new DnnlKernels())) {
            List<Tensor> want = new ArrayList<>();
            for (int[][] in : inputs) {
                try (ClipTextOutput o = model.encode(in, null, false)) {
                    want.add(o.textEmbeds().copy(dev.unet4j.core.tensor.Allocator.direct()));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Double>> results = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    int start = t;
                    results.add(pool.submit(() -> {
                        double worst = 0;
                        for (int r = 0; r < 30; r++) {
                            int i = (start + r) % inputs.length;
                            try (ClipTextOutput o = model.encode(inputs[i], null, r % 2 == 0)) {
                                worst = Math.max(worst, Closeness.relError(want.get(i), o.textEmbeds()));
                            }
                        }
                        return worst;
                    }));
                }
                for (Future<Double> f : results) assertTrue(f.get() <= 1e-6, "thread result differs: " + f.get());
            } finally {
                pool.shutdownNow();
                for (Tensor t : want) t.close();
            }
        }
    }
}
