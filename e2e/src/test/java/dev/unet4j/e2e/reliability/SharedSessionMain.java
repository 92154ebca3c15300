package dev.unet4j.e2e.reliability;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetModel;
import dev.unet4j.unet.UNetSession;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child JVM of {@link ApiMisuseCrashTest}: two threads call {@code forward} on one {@link UNetSession} 300 times
 * each, and a third closes the session midway. The overlapping calls must be refused with "two threads at once"
 * (at least one is expected), every call that ran must return the output of a solo run bit for bit, and nothing
 * else may be thrown. Prints "ok ..." and exits 0; exits 1 on a wrong outcome. A crash shows as exit 134/139.
 */
public final class SharedSessionMain {
    public static void main(String[] args) throws Exception {
        UNetModel m = Models.digits();
        float[] noise = new float[256];
        for (int i = 0; i < noise.length; i++) noise[i] = (float) Math.sin(i * 0.37);
        float[] expected;
        try (UNetSession solo = m.newSession(); Tensor x = Tensor.of(noise, 1, 1, 16, 16); Tensor out = solo.forward(inputs(x))) {
            expected = out.toFloatArray();
        }
        UNetSession shared = m.newSession();
        AtomicInteger ran = new AtomicInteger(), refused = new AtomicInteger();
        AtomicReference<Throwable> wrong = new AtomicReference<>();
        CyclicBarrier start = new CyclicBarrier(2);
        Runnable caller = () -> {
            try (Tensor x = Tensor.of(noise, 1, 1, 16, 16)) {
                start.await();
                for (int i = 0; i < 300; i++) {
                    try (Tensor out = shared.forward(inputs(x))) {
                        if (!java.util.Arrays.equals(expected, out.toFloatArray())) wrong.set(new AssertionError("call " + i + " differs from the solo run"));
                        ran.incrementAndGet();
                    } catch (IllegalStateException e) {
                        if (e.getMessage().contains("two threads at once")) refused.incrementAndGet();
                        else throw e;
                    }
                }
            } catch (Throwable e) {
                wrong.compareAndSet(null, e);
            }
        };
        Thread a = new Thread(caller), b = new Thread(caller);
        a.start();
        b.start();
        a.join();
        b.join();
        // a close racing with calls: each either closes (later calls: "session is closed") or is refused
        AtomicInteger closeRefused = new AtomicInteger();
        Thread c = new Thread(() -> {
            try (Tensor x = Tensor.of(noise, 1, 1, 16, 16)) {
                for (int i = 0; i < 200; i++) {
                    try (Tensor out = shared.forward(inputs(x))) {
                        ran.incrementAndGet();
                    } catch (IllegalStateException e) {
                        if (e.getMessage().contains("session is closed")) return;
                        if (!e.getMessage().contains("two threads at once")) throw e;
                    }
                }
            } catch (Throwable e) {
                wrong.compareAndSet(null, e);
            }
        });
        c.start();
        while (true) {
            try {
                shared.close();
                break;
            } catch (IllegalStateException e) {
                if (!e.getMessage().contains("two threads at once")) throw e;
                closeRefused.incrementAndGet();
                Thread.onSpinWait();
            }
        }
        c.join();
        if (wrong.get() != null) {
            wrong.get().printStackTrace(System.out);
            System.exit(1);
        }
        System.out.println("ok ran=" + ran + " refused=" + refused + " closeRefused=" + closeRefused);
        System.exit(refused.get() > 0 ? 0 : 1);
    }

    private static final Tensor LABEL = Tensor.of(new float[]{3}, 1L);

    private static UNetInputs inputs(Tensor x) {
        return UNetInputs.builder(x, Timestep.int64(500)).classLabels(LABEL).build();
    }
}
