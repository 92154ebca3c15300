package dev.unet4j.caching.policy;

import dev.unet4j.caching.CondHalf;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.UNetInputs;

/**
 * Whole-body reuse (TeaCache, MagCache): every call runs conv_in, whose output is the probe; a call that reuses skips
 * everything between conv_in and conv_norm_out, which receives {@code probe + residual}, the residual being
 * {@code (conv_norm_out input) - (conv_in output)} of the last full call. Subclasses decide per call
 * ({@link #decide}); the mechanism is shared.
 */
abstract class BodyReuse implements PolicyRun {
    static final String PROBE = "probe", RESIDUAL = "residual";

    protected final String lastUp;
    protected final int total;
    protected final FeatureStore store;
    protected int callIndex;
    private boolean reuse;
    private Tensor probe;              // this call's conv_in output (graph-owned, alive until the call ends)
    private String label = "";

    BodyReuse(UNetStructure s, int total, FeatureStore store) {
        this.lastUp = "up_blocks." + (s.upBlocks() - 1);
        this.total = total;
        this.store = store;
    }

    /**
     * Whether call {@code k} reuses, told its probe and whether reuse is {@code possible} (a probe and a residual
     * are kept and the budget refused nothing): a label for the report if it reuses, else null.
     */
    protected abstract String decide(int k, Tensor probe, boolean possible);

    /** A full call has just stored its residual ({@link #RESIDUAL}); calibration reads it here. */
    protected void residualKept(int k, Tensor residual) {
    }

    @Override
    public void beginCall(int k, UNetInputs in) {
        callIndex = k;
        reuse = false;
        probe = null;
        label = "";
    }

    @Override
    public Tensor intercept(NodeCall call, int k) {
        String path = call.path();
        if (path.equals("conv_in")) {
            Tensor out = call.proceed();
            // a cond-only call (batch B) is served by the conditional half of what a guided 2B call kept
            boolean possible = store.contains(PROBE) && store.contains(RESIDUAL) && !store.refusedSome()
                    && CondHalf.serves(store.get(RESIDUAL).dim(0), out.dim(0));
            String l = decide(callIndex, out, possible);
            reuse = l != null && possible;
            label = reuse ? l : "";
            if (!reuse) out = store.keep(PROBE, call, out);
            probe = out;
            return out;
        }
        if (reuse) {
            if (path.equals(lastUp)) {
                return call.kernels().add(call.workspace(), probe, CondHalf.view(store.get(RESIDUAL), probe.dim(0)), 1f, 1f);
            }
            if (path.startsWith("down_blocks.") || path.equals("mid_block") || path.startsWith("up_blocks.")) {
                return call.passThrough();                       // skipped; only the last up block's value is used
            }
            return call.proceed();
        }
        if (path.equals("conv_norm_out") && store.contains(PROBE)) {
            store.putOwned(RESIDUAL, call.kernels().add(call.workspace(), call.input(), store.get(PROBE), 1f, -1f));
            residualKept(callIndex, store.get(RESIDUAL));
        }
        return call.proceed();
    }

    /** The kept probe as seen by a call whose probe is {@code now} (its conditional half for a cond-only call). */
    protected Tensor keptProbe(Tensor now) {
        return CondHalf.view(store.get(PROBE), now.dim(0));
    }

    @Override
    public String label(int k) {
        return label;
    }

    @Override
    public long bytesHeld() {
        return store.bytes();
    }

    @Override
    public void close() {
        store.close();
    }
}
