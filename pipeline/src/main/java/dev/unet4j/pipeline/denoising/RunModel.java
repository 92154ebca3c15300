package dev.unet4j.pipeline.denoising;

import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.UNetSession;

import java.util.Objects;

/**
 * The network of one {@link Pipeline} run: the {@link DiffusionModel} the sampler calls, the multiply-accumulates it
 * did, and what to release after the run (a feature cache's state). Made per run by a {@link Factory} on the run's
 * own {@link UNetSession}.
 */
public interface RunModel extends AutoCloseable {

    DiffusionModel model();

    /** MACs computed so far in this run, or -1 when unknown. */
    long macsDone();

    /** MACs the same calls cost with full computation, or -1 when unknown. */
    long macsFull();

    /**
     * What edits the sampler's latents at each step start in this run (e.g. a cache policy's prior-noise injection),
     * or null: the pipeline puts it in the run's {@link dev.unet4j.samplers.SamplingRequest}.
     */
    default LatentHook latentHook() {
        return null;
    }

    /** Releases the run's state (the session itself is closed by the pipeline). */
    @Override
    void close();

    /** Makes the model of one run on its fresh session. */
    @FunctionalInterface
    interface Factory {
        RunModel open(UNetSession session, RunPlan plan);
    }

    /** The plain UNet ({@link UNetDenoiser}), counting MACs from each call's {@link CallTrace}. */
    static RunModel plain(UNetSession session) {
        return new Traced(new UNetDenoiser(session), session);
    }

    /** {@code model} with nothing to count, releasing {@code resource} after the run (may be null). */
    static RunModel of(DiffusionModel model, AutoCloseable resource) {
        Objects.requireNonNull(model, "model");
        return new RunModel() {
            @Override
            public DiffusionModel model() {
                return model;
            }

            @Override
            public long macsDone() {
                return -1;
            }

            @Override
            public long macsFull() {
                return -1;
            }

            @Override
            public void close() {
                if (resource == null) return;
                try {
                    resource.close();
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException("closing " + resource + " failed", e);
                }
            }
        };
    }

    /** Counts MACs of one forward per evaluation from the session's last trace. */
    final class Traced implements RunModel, DiffusionModel {
        private final DiffusionModel inner;
        private final UNetSession session;
        private long done;
        private long full;
        private boolean fullKnown = true;

        Traced(DiffusionModel inner, UNetSession session) {
            this.inner = inner;
            this.session = session;
        }

        @Override
        public Latents forward(Latents x, ModelCall call, Conditioning cond) {
            Latents out = inner.forward(x, call, cond);
            CallTrace t = session.lastTrace();
            done += t.macsDone();
            if (t.fullMacs() < 0) fullKnown = false;
            else full += t.fullMacs();
            return out;
        }

        @Override
        public DiffusionModel model() {
            return this;
        }

        @Override
        public long macsDone() {
            return done;
        }

        @Override
        public long macsFull() {
            return fullKnown ? full : -1;
        }

        @Override
        public void close() {
        }
    }
}
