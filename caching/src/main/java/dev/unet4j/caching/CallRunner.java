package dev.unet4j.caching;

import dev.unet4j.core.kernels.Kernels;
import dev.unet4j.core.kernels.Workspace;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.EncoderState;
import dev.unet4j.unet.UNetInputs;

/**
 * The UNet session as a call-level policy drives it; every call made here is traced into the current call's report.
 */
public interface CallRunner {
    /** One full UNet pass (through the node interceptors of the other policies). */
    Tensor forward(UNetInputs in);

    /** The encoder half; the state is owned by the caller. */
    EncoderState encode(UNetInputs in);

    /** The decoder half from {@code state}, with {@code in}'s timestep and conditioning. */
    Tensor decode(EncoderState state, UNetInputs in);

    /** The session's kernels and workspace, for tensors a policy makes outside node callbacks. */
    Kernels kernels();

    Workspace workspace();

    /** Marks the current call as evaluated ahead of time by an earlier batched call (no UNet work now). */
    void servedFromBatch(int batchedAtCall, int callsInBatch);
}
