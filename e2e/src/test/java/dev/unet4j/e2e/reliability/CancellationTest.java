package dev.unet4j.e2e.reliability;

import dev.unet4j.core.tensor.NativeBuffer;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.pipeline.denoising.Generation;
import dev.unet4j.pipeline.denoising.Pipeline;
import dev.unet4j.samplers.SamplingCancelledException;
import dev.unet4j.unet.Interceptors;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.NodeInterceptor;
import dev.unet4j.unet.UNetSession;
import dev.unet4j.unet.guard.CallCancelledException;
import dev.unet4j.unet.guard.CancellationGuard;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cancelling a generation mid-way, from its progress callback or from another thread (interrupt, cancel flag): it
 * stops within the UNet call in flight (counted), frees its native memory, and the next generation on the same model
 * equals a fresh run.
 */
class CancellationTest {
    private static final int STEPS = 12;

    private static Generation generation() {
        return Models.digitsGeneration(STEPS, 21, 4, 9);
    }

    /** The session of the last run and a count of its UNet calls (top-level conv_in visits). */
    private static final class Probe implements NodeInterceptor {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public Tensor intercept(NodeCall call) {
            if (call.path().equals("conv_in")) calls.incrementAndGet();
            return call.proceed();
        }
    }

    @Test
    void cancelFromTheProgressCallback() {
        Pipeline heun = Models.digitsPipeline("heun-karras");
        float[] reference = heun.generate(generation()).latents().data();
        long live = NativeBuffer.liveBytes();
        Probe probe = new Probe();
        AtomicLong stoppedAt = new AtomicLong();
        SamplingCancelledException e = assertThrows(SamplingCancelledException.class, () -> heun
                .withSessionSetup(s -> s.setInterceptor(probe))
                .generate(generation().onStep(info -> {
                    if (info.stepIndex() < 3) return true;
                    stoppedAt.set(System.nanoTime());
                    return false;
                })));
        long latency = System.nanoTime() - stoppedAt.get();
        assertEquals(3, e.stepIndex());
        // Heun: 2 UNet calls per step except the last; steps 0..3 done = 8 calls, and not one more after the stop
        assertEquals(8, probe.calls.get(), "UNet calls made before the cancellation");
        System.out.printf("callback cancel: exception %.2f ms after the callback returned false%n", latency / 1e6);
        assertEquals(live, NativeBuffer.liveBytes(), "native memory after the cancelled run");
        assertArrayEquals(reference, heun.generate(generation()).latents().data(), "the next run equals a fresh one");
    }

    /**
     * Another thread interrupts while a UNet call is in flight (held at mid_block of call 5). With the
     * {@link CancellationGuard} the call stops at its next node: no further node of that call runs, no later call starts.
     */
    @Test
    void interruptFromAnotherThreadStopsWithinTheCallInFlight() throws Exception {
        Pipeline p = Models.digitsPipeline("ddim");
        float[] reference = p.generate(generation()).latents().data();
        long live = NativeBuffer.liveBytes();
        CountDownLatch reached = new CountDownLatch(1), interrupted = new CountDownLatch(1);
        AtomicLong interruptAt = new AtomicLong();
        NodeInterceptor hold = new NodeInterceptor() {
            @Override
            public Tensor intercept(NodeCall call) {
                if (call.callIndex() == 5 && call.path().equals("mid_block")) {
                    reached.countDown();
                    try {
                        interrupted.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt(); // keep the status for the guard
                    }
                }
                return call.proceed();
            }
        };
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong caughtAt = new AtomicLong();
        AtomicReference<UNetSession> sessionRef = new AtomicReference<>();
        Thread worker = new Thread(() -> {
            try {
                p.withSessionSetup(s -> {
                    sessionRef.set(s);
                    s.setInterceptor(Interceptors.chain(CancellationGuard.onInterrupt(), hold));
                }).generate(generation());
            } catch (Throwable t) {
                caughtAt.set(System.nanoTime());
                failure.set(t);
            } finally {
                Thread.interrupted(); // the pool thread would be reused in a service
            }
        });
        worker.start();
        assertTrue(reached.await(30, TimeUnit.SECONDS), "the generation reached call 5");
        interruptAt.set(System.nanoTime());
        worker.interrupt();
        interrupted.countDown();
        worker.join(30_000);
        assertTrue(failure.get() instanceof CallCancelledException, String.valueOf(failure.get()));
        CallCancelledException c = (CallCancelledException) failure.get();
        assertEquals(5, c.callIndex(), "stopped inside the call that was in flight");
        // mid_block itself ran (it was entered before the interrupt); the guard refused the very next node
        assertTrue(c.path().startsWith("mid_block."), c.path());
        System.out.printf("interrupt: stopped %.2f ms after interrupt(), before node %s of call %d%n",
                (caughtAt.get() - interruptAt.get()) / 1e6, c.path(), c.callIndex());
        assertEquals(live, NativeBuffer.liveBytes(), "native memory after the cancelled run");
        assertArrayEquals(reference, p.generate(generation()).latents().data(), "the next run equals a fresh one");
    }

    /** Without the guard the sampler notices an interrupt at the next step: at most one step's calls are made after it. */
    @Test
    void interruptWithoutTheGuardStopsAtTheNextStep() throws Exception {
        Pipeline p = Models.digitsPipeline("ddim");
        long live = NativeBuffer.liveBytes();
        Probe probe = new Probe();
        AtomicInteger callsAtInterrupt = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread worker = new Thread(() -> {
            try {
                p.withSessionSetup(s -> s.setInterceptor(probe)).generate(generation().onStep(info -> {
                    if (info.stepIndex() == 4) {
                        callsAtInterrupt.set(probe.calls.get());
                        Thread.currentThread().interrupt(); // as another thread's interrupt() landing now
                    }
                    return true;
                }));
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                Thread.interrupted();
            }
        });
        worker.start();
        worker.join(30_000);
        assertTrue(failure.get() instanceof SamplingCancelledException, String.valueOf(failure.get()));
        assertTrue(probe.calls.get() - callsAtInterrupt.get() <= 1, (probe.calls.get() - callsAtInterrupt.get()) + " calls after the interrupt");
        assertEquals(live, NativeBuffer.liveBytes());
    }

    /** A cancel flag raised by another thread (a service's "cancel request" endpoint). */
    @Test
    void cancelFlagFromAnotherThread() throws Exception {
        Pipeline p = Models.sdPipeline("dpmpp-2m");
        Generation g = Models.sdGeneration(10, 5);
        float[] reference = p.generate(g).latents().data();
        long live = NativeBuffer.liveBytes();
        AtomicBoolean cancel = new AtomicBoolean();
        CountDownLatch third = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread worker = new Thread(() -> {
            try {
                p.withSessionSetup(s -> s.setInterceptor(new CancellationGuard(cancel)))
                        .generate(g.onStep(info -> {
                            if (info.stepIndex() == 2) {
                                third.countDown();
                                try {
                                    Thread.sleep(50); // let the other thread raise the flag while we continue
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                            }
                            return true;
                        }));
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        worker.start();
        assertTrue(third.await(30, TimeUnit.SECONDS));
        cancel.set(true);
        worker.join(30_000);
        assertTrue(failure.get() instanceof CallCancelledException, String.valueOf(failure.get()));
        assertEquals(3, ((CallCancelledException) failure.get()).callIndex(), "the call after step 2 never ran a node");
        assertEquals(live, NativeBuffer.liveBytes());
        assertArrayEquals(reference, p.generate(g).latents().data());
    }
}
