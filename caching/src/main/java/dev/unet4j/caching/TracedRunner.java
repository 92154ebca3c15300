package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.EncoderState;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;

/**
 * The {@link CallRunner} of a cache session's call: each UNet pass starts with an empty skip stack for
 * {@link SkipRepair} and its trace goes into the call's report ({@link CallRecorder}).
 */
final class TracedRunner implements CallRunner {
    private final UNetSession session;
    private final CallRecorder recorder;
    private final SkipRepair skips;

    TracedRunner(UNetSession session, CallRecorder recorder, SkipRepair skips) {
        this.session = session;
        this.recorder = recorder;
        this.skips = skips;
    }

    @Override
    public Tensor forward(UNetInputs in) {
        skips.beginPass();
        Tensor out = session.forward(in);
        recorder.record(session.lastTrace(), (int) out.dim(0));
        return out;
    }

    @Override
    public EncoderState encode(UNetInputs in) {
        skips.beginPass();
        EncoderState s = session.encode(in);
        recorder.record(session.lastTrace(), s.batch());
        return s;
    }

    @Override
    public Tensor decode(EncoderState state, UNetInputs in) {
        skips.beginPass();
        Tensor out = session.decode(state, in);
        recorder.record(session.lastTrace(), state.batch());
        return out;
    }

    @Override
    public Kernels kernels() {
        return session.model().kernels();
    }

    @Override
    public Workspace workspace() {
        return session.workspace();
    }

    @Override
    public void servedFromBatch(int batchedAtCall, int callsInBatch) {
        recorder.servedFromBatch(batchedAtCall, callsInBatch);
    }
}
