package dev.unet4j.e2e.reliability;

import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.testing.Fixtures;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.SamplerOptions;
import dev.unet4j.samplers.Samplers;
import dev.unet4j.unet.UNetModel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child JVM of {@link ApiMisuseCrashTest}: 40 times, loads the digits model, starts 3 threads generating with it
 * in a loop, closes the model from the main thread after a random delay, and checks that every thread stopped with
 * "model closed" (never anything else) and that native memory is back to its baseline. Prints "ok ..." and exits 0;
 * exits 1 on a wrong outcome. A crash shows as exit 134/139.
 */
public final class CloseWhileRunningMain {
    public static void main(String[] args) throws Exception {
        int tries = Integer.parseInt(args[0]);
        SplittableRandom rnd = new SplittableRandom(7);
        run(1, 0); // first-run caches of the kernels (primitives) are not the model's memory
        long baseline = NativeBuffer.liveBytes();
        int refused = 0;
        for (int t = 0; t < tries; t++) refused += run(3, rnd.nextInt(60));
        long live = NativeBuffer.liveBytes();
        if (live != baseline) {
            System.out.println("native memory " + live + " bytes after all closes, baseline " + baseline);
            System.exit(1);
        }
        System.out.println("ok tries=" + tries + " refused=" + refused);
        System.exit(0);
    }

    /** Returns how many threads were refused with "model closed" (the rest finished before the close). */
    private static int run(int threads, int delayMs) throws Exception {
        UNetModel m = Models.load(Fixtures.model("digits-16"));
        Pipeline p = Pipeline.of(m, Samplers.byName("ddim", SamplerOptions.of(Models.digitsScheduler())));
        AtomicReference<Throwable> wrong = new AtomicReference<>();
        AtomicInteger refused = new AtomicInteger();
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int id = i;
            Thread th = new Thread(() -> {
                try {
                    for (int g = 0; g < 1000; g++) p.generate(Models.digitsGeneration(3, id * 1000L + g, id % 10));
                } catch (IllegalStateException e) {
                    if (String.valueOf(e.getMessage()).contains("model closed")) refused.incrementAndGet();
                    else wrong.set(e);
                } catch (Throwable e) {
                    wrong.set(e);
                }
            });
            th.start();
            ts.add(th);
        }
        if (delayMs > 0) Thread.sleep(delayMs);
        m.close();
        for (Thread th : ts) th.join(60_000);
        if (wrong.get() != null) {
            wrong.get().printStackTrace(System.out);
            System.exit(1);
        }
        try {
            p.generate(Models.digitsGeneration(1, 0, 1));
            System.out.println("a generation after close() was not refused");
            System.exit(1);
        } catch (IllegalStateException e) {
            if (!e.getMessage().contains("model closed")) throw e;
        }
        return refused.get();
    }
}
