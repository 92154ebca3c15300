package dev.unet4j.unet;

import dev.unet4j.core.tensor.Tensor;

import java.util.List;

/**
 * The encoder half of a UNet call ({@link UNetSession#encode}): the time embedding it used, every skip tensor
 * ({@code skip.0} first) and the mid block output. Owned by the caller (close it); its tensors live in the session's
 * pool. {@link UNetSession#decode} reads it without consuming it, so one state can be decoded at several timesteps
 * (Faster-Diffusion encoder propagation).
 */
public final class EncoderState implements AutoCloseable {
    private final Tensor temb;
    private final List<Tensor> skips;
    private final Tensor mid;
    private final long[] sampleShape;
    private boolean closed;

    EncoderState(Tensor temb, List<Tensor> skips, Tensor mid, long[] sampleShape) {
        this.temb = temb;
        this.skips = List.copyOf(skips);
        this.mid = mid;
        this.sampleShape = sampleShape.clone();
    }

    /** {@code [B, temb]}. */
    public Tensor temb() {
        check();
        return temb;
    }

    /** {@code skip.0 ..}, read-only. */
    public List<Tensor> skips() {
        check();
        return skips;
    }

    /** The mid block output (with any ControlNet residual added). */
    public Tensor mid() {
        check();
        return mid;
    }

    public int batch() {
        return (int) sampleShape[0];
    }

    /** Shape of the sample that was encoded. */
    public long[] sampleShape() {
        return sampleShape.clone();
    }

    private void check() {
        if (closed) throw new IllegalStateException("EncoderState used after close");
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        temb.close();
        mid.close();
        for (Tensor t : skips) t.close();
    }
}
