package dev.unet4j.samplers.pipeline;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.ModelCall;
import dev.unet4j.samplers.guidance.ClassConditioning;
import dev.unet4j.samplers.guidance.Conditioning;
import dev.unet4j.samplers.guidance.DiffusionModel;
import dev.unet4j.samplers.guidance.NoConditioning;
import dev.unet4j.samplers.guidance.TextConditioning;
import dev.unet4j.unet.CallTrace;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;
import dev.unet4j.unet.UNetSession;

/**
 * A {@link UNetSession} as the samplers' {@link DiffusionModel}: each evaluation is one UNet call on the batch,
 * with {@link ClassConditioning} as {@code class_labels}, {@link TextConditioning} as {@code encoder_hidden_states}
 * and {@link NoConditioning} as neither. Counts the calls and the multiply-accumulates done, so cache policies can
 * report their savings.
 *
 * <p>Timesteps are passed as tensors, as a diffusers pipeline passes {@code scheduler.timesteps[i]}: int64 when
 * integral (DDIM, DPM-Solver, leading/trailing schedules), float64 otherwise (Karras and EDM). Both model classes cast
 * a timestep tensor to float32 before the sinusoid, so float64 also carries Euler's float32 timesteps exactly.
 *
 * <p>Not thread-safe (a session is single-threaded). The session is borrowed, not closed.
 */
public final class UNetDiffusionModel implements DiffusionModel {
    private final UNetSession session;
    private int calls;
    private long macsDone;
    private long macsFull;
    private boolean fullKnown = true;

    public UNetDiffusionModel(UNetSession session) {
        this.session = session;
    }

    @Override
    public Latents forward(Latents x, ModelCall call, Conditioning cond) {
        if (cond.batchSize() != x.batch()) {
            throw new IllegalArgumentException("conditioning has " + cond.batchSize() + " items for a batch of " + x.batch());
        }
        try (Tensor sample = tensor(x.data(), x.shape());
             Tensor labels = cond instanceof ClassConditioning c ? tensor(labelValues(c), new int[] {c.batchSize()}) : null;
             Tensor text = cond instanceof TextConditioning t ? tensor(t.data(), t.shape()) : null) {
            if (!(cond instanceof ClassConditioning || cond instanceof TextConditioning || cond instanceof NoConditioning)) {
                throw new IllegalArgumentException("the UNet adapter does not understand " + cond.getClass().getName());
            }
            UNetInputs in = UNetInputs.builder(sample, timestep(call.timestep()))
                    .classLabels(labels).encoderHiddenStates(text).build();
            try (Tensor out = session.forward(in)) {
                record(session.lastTrace());
                return new Latents(out.toFloatArray(), toInt(out.shape()));
            }
        }
    }

    /** The tensor type a diffusers pipeline would pass for this scheduler timestep. */
    static Timestep timestep(double t) {
        return t == Math.rint(t) && Math.abs(t) < 1L << 53 ? Timestep.int64((long) t) : Timestep.float64(t);
    }

    private Tensor tensor(float[] data, int[] shape) {
        Tensor t = Tensor.allocate(session.allocator(), Tensor.toLong(shape));
        t.setFrom(data);
        return t;
    }

    private static float[] labelValues(ClassConditioning c) {
        long[] l = c.labels();
        float[] f = new float[l.length];
        for (int i = 0; i < l.length; i++) f[i] = l[i];
        return f;
    }

    private static int[] toInt(long[] s) {
        int[] r = new int[s.length];
        for (int i = 0; i < s.length; i++) r[i] = Math.toIntExact(s[i]);
        return r;
    }

    private void record(CallTrace trace) {
        calls++;
        if (trace == null) return;
        macsDone += trace.macsDone();
        if (trace.fullMacs() < 0) fullKnown = false;
        else macsFull += trace.fullMacs();
    }

    /** UNet calls made so far. */
    public int calls() {
        return calls;
    }

    /** Multiply-accumulates computed by those calls. */
    public long macsDone() {
        return macsDone;
    }

    /** Multiply-accumulates the same calls cost without an interceptor, or -1 when the session could not tell. */
    public long macsFull() {
        return fullKnown ? macsFull : -1;
    }
}
