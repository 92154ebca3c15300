package dev.unet4j.caching.policy;

import dev.unet4j.caching.CacheBudget;
import dev.unet4j.caching.CachePolicy;
import dev.unet4j.caching.CallRunner;
import dev.unet4j.caching.FeatureStore;
import dev.unet4j.caching.PolicyArgs;
import dev.unet4j.caching.PolicyRun;
import dev.unet4j.caching.RunContext;
import dev.unet4j.caching.UNetStructure;
import dev.unet4j.core.tensor.Batches;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.samplers.LatentHook;
import dev.unet4j.samplers.Latents;
import dev.unet4j.samplers.StepStart;
import dev.unet4j.unet.EncoderState;
import dev.unet4j.unet.NodeCall;
import dev.unet4j.unet.Timestep;
import dev.unet4j.unet.UNetInputs;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Encoder propagation (Faster Diffusion, Li et al. 2023): key calls run the whole UNet and keep the encoder state
 * ({@link dev.unet4j.unet.UNetSession#encode}); the other calls run only the decoder from that state with their own
 * time embedding ({@link dev.unet4j.unet.UNetSession#decode}), so they ignore their input latents. Call 0 is always a
 * key. Key sets: an explicit {@code keys=} list, {@code every=k}, or {@code preset=50} (the paper's
 * {0,1,2,3,5,10,15,25,35} for 50 steps).
 *
 * <p>{@code parallel} (also the TiUE-style shared-encoder decoding): since non-key decoders depend only on the key's
 * encoder features and their own timestep, the first non-key call after a key evaluates the decoders of the whole run
 * of following non-key calls in one batch (their timesteps come from {@link dev.unet4j.caching.GenerationInfo
 * #callTimesteps()}), and the sampler then consumes one output per call. The batched pass runs through the graph with
 * the key call's conv_in output, down-layer outputs and mid-block output, batch-tiled, in place of the encoder.
 * {@code group=n} caps the batch.
 *
 * <p>{@code noise=s[,noise-below=T]}: the paper's prior-noise injection, {@code x += s * x_T} on the sampler's running
 * latents at the start of every step whose timestep is below {@code T} (default 500), key and non-key steps alike;
 * off (no hook at all) unless {@code s > 0}. It acts through {@link dev.unet4j.samplers.LatentHook}
 * ({@link dev.unet4j.caching.CacheSession#latentHook}), which a pipeline-module {@code Pipeline} run with
 * {@code CachedRunModel} passes to the sampler; calls whose step injected are labelled
 * {@code +noise} in the report. This follows the official code (hutaiHang/Faster-Diffusion, {@code utils_sd.py},
 * {@code register_normal_pipeline}): {@code init_latents = latents.clone()} right after {@code prepare_latents}, then
 * at the top of each denoising-loop iteration {@code if t/1000 < 0.5: latents = latents + 0.003*init_latents},
 * before {@code scale_model_input} and the UNet call, so the addition persists in the loop's latents and the
 * scheduler step sees it too; t = 500 itself is not injected. Generalized to every sampler as: x_T is the run's
 * starting latents in the sampler's own space (what {@code prepare_latents} returns: the noise for DDIM and
 * DPM-Solver, noise * init_noise_sigma for Euler/Heun, noise * sigma_max for EDM), t is the timestep the step's first
 * evaluation feeds the network (fractional for Karras schedules; for EDM-preconditioned networks it is c_noise =
 * ln(sigma)/4, always far below 500, so give {@code noise-below} in that scale there), and a step is injected once
 * even when it evaluates twice (Heun: diffusers' loop would also add to the corrector's input, but its second-order
 * step restarts from the stored sample, so that addition reaches only the corrector's UNet input). The arithmetic is float32, {@code x + (float) s * x_T}, as torch's. With {@code parallel}, the official
 * {@code register_parallel_pipeline} adds the injections of a key's group only before each scheduler step, after the
 * group's single UNet pass, so its key UNet input lacks that step's injection; here both modes inject before the
 * key call, as the sequential pipeline (non-key calls ignore their input latents either way).
 */
public record EncoderPropagation(int[] keys, int every, boolean parallel, int group, double noise, double noiseBelow)
        implements CachePolicy {
    public static final String NAME = "faster";
    /** The paper's key steps for 50-step DDIM. */
    public static final int[] PRESET_50 = {0, 1, 2, 3, 5, 10, 15, 25, 35};
    /** The paper's prior-noise strength and timestep threshold. */
    public static final double PAPER_NOISE = 0.003, PAPER_NOISE_BELOW = 500;

    public EncoderPropagation {
        if ((keys == null) == (every < 1)) throw new IllegalArgumentException("faster: give exactly one of keys=, every= or preset=50");
        if (keys != null) keys = keys.clone();
        if (group < 1) throw new IllegalArgumentException("faster: group must be >= 1, got " + group);
        if (!(noise >= 0) || !Double.isFinite(noise)) throw new IllegalArgumentException("faster: noise must be a finite number >= 0, got " + noise);
        if (!(noiseBelow >= 0) || !Double.isFinite(noiseBelow)) {
            throw new IllegalArgumentException("faster: noise-below must be a finite timestep >= 0, got " + noiseBelow);
        }
    }

    /** Without prior-noise injection. */
    public EncoderPropagation(int[] keys, int every, boolean parallel, int group) {
        this(keys, every, parallel, group, 0, PAPER_NOISE_BELOW);
    }

    public static EncoderPropagation parse(String text) {
        PolicyArgs a = PolicyArgs.parse(NAME, text, List.of("keys", "every", "preset", "group", "noise", "noise-below"),
                Set.of("keys"), Set.of("parallel"));
        int[] keys = a.ints("keys");
        if (a.has("preset")) {
            a.require(a.integer("preset", 0) == 50, "preset", "50 (the paper's 50-step key set)");
            a.require(keys == null && !a.has("every"), "preset", "combined with keys= or every=");
            keys = PRESET_50;
        }
        double noise = a.number("noise", 0);
        a.require(noise >= 0, "noise", "a prior-noise strength >= 0 (the paper's is 0.003)");
        a.require(!a.has("noise-below") || a.has("noise"), "noise-below", "valid without noise= (the strength to inject)");
        double below = a.number("noise-below", PAPER_NOISE_BELOW);
        a.require(below >= 0, "noise-below", "a timestep >= 0 (the paper's is 500)");
        return new EncoderPropagation(keys, a.integer("every", 0), a.flag("parallel"), a.integer("group", Integer.MAX_VALUE),
                noise, below);
    }

    @Override
    public String spec() {
        String s = NAME + ":" + (keys != null ? "keys=" + String.join(",", Arrays.stream(keys).mapToObj(String::valueOf).toList())
                : "every=" + every);
        if (group != Integer.MAX_VALUE) s += ",group=" + group;
        if (noise > 0) s += ",noise=" + number(noise) + ",noise-below=" + number(noiseBelow);
        return parallel ? s + ";parallel" : s;
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    @Override
    public boolean callLevel() {
        return true;
    }

    public boolean isKey(int call) {
        if (call == 0) return true;
        if (keys != null) {
            for (int k : keys) if (k == call) return true;
            return false;
        }
        return call % every == 0;
    }

    @Override
    public PolicyRun start(RunContext ctx) {
        if (parallel && ctx.info().callTimesteps() == null) {
            throw new IllegalArgumentException("faster ...;parallel evaluates future calls ahead: open the cache session with "
                    + "GenerationInfo.withTimesteps(...)");
        }
        PriorNoise prior = noise > 0 ? new PriorNoise((float) noise, noiseBelow) : null;
        return parallel ? new ParallelRun(ctx, prior) : new SequentialRun(ctx.budget(), prior);
    }

    /** The prior-noise injection of one generation: x + s * x_T on steps below the threshold. */
    private static final class PriorNoise implements LatentHook {
        private final float strength;
        private final double below;
        private int injectedCall = -1;

        PriorNoise(float strength, double below) {
            this.strength = strength;
            this.below = below;
        }

        @Override
        public Latents beforeStep(StepStart step, Latents x) {
            if (!(step.timestep() < below)) return x;
            float[] xs = x.data();
            float[] init = step.initial().data();
            float[] out = new float[xs.length];
            for (int k = 0; k < xs.length; k++) out[k] = xs[k] + strength * init[k];
            injectedCall = step.callIndex();
            return x.withData(out);
        }

        /** {@code label} with {@code +noise} when call {@code callIndex}'s step injected. */
        String label(int callIndex, String label) {
            if (injectedCall != callIndex) return label;
            return label.isEmpty() ? "+noise" : label + " +noise";
        }
    }

    private final class SequentialRun implements PolicyRun {
        private final CacheBudget budget;
        private final PriorNoise prior;
        private EncoderState state;
        private long stateBytes;
        private String label = "";

        SequentialRun(CacheBudget budget, PriorNoise prior) {
            this.budget = budget;
            this.prior = prior;
        }

        @Override
        public LatentHook latentHook() {
            return prior;
        }

        @Override
        public Tensor runCall(int callIndex, UNetInputs in, CallRunner runner) {
            if (isKey(callIndex)) {
                drop();
                EncoderState s = runner.encode(in);
                Tensor out = runner.decode(s, in);
                long bytes = bytes(s);
                if (budget.reserve(bytes, "encoder state of call " + callIndex)) {
                    state = s;
                    stateBytes = bytes;
                } else {
                    s.close();
                }
                label = "key";
                return out;
            }
            if (state == null) {
                label = "full (cache refused)";
                return runner.forward(in);
            }
            label = "decode";
            return runner.decode(state, in);
        }

        private void drop() {
            if (state != null) {
                state.close();
                budget.release(stateBytes);
                state = null;
                stateBytes = 0;
            }
        }

        @Override
        public String label(int callIndex) {
            return prior == null ? label : prior.label(callIndex, label);
        }

        @Override
        public long bytesHeld() {
            return stateBytes;
        }

        @Override
        public void close() {
            drop();
        }
    }

    static long bytes(EncoderState s) {
        long n = s.temb().numel() + s.mid().numel();
        for (Tensor t : s.skips()) n += t.numel();
        return n * Float.BYTES;
    }

    private static final Pattern ENCODER_LAYER = Pattern.compile("down_blocks\\.\\d+\\.(resnets|attentions|downsamplers)\\.\\d+");

    private final class ParallelRun implements PolicyRun {
        private final double[] timesteps;
        private final int total;
        private final FeatureStore encoder, outputs;
        private final Set<String> encoderNodes = new HashSet<>();
        private final PriorNoise prior;
        private boolean keyNow;
        private int tileNow;               // > 0 while a batched decode runs
        private int batchStart, batchSize;
        private String label = "";

        ParallelRun(RunContext ctx, PriorNoise prior) {
            this.prior = prior;
            this.timesteps = ctx.info().callTimesteps();
            this.total = ctx.info().totalCalls();
            this.encoder = ctx.newStore();
            this.outputs = ctx.newStore();
            UNetStructure s = ctx.structure();
            encoderNodes.add("conv_in");
            for (String p : s.paths()) if (ENCODER_LAYER.matcher(p).matches()) encoderNodes.add(p);
            if (s.hasMid()) encoderNodes.add("mid_block");
        }

        @Override
        public Tensor runCall(int callIndex, UNetInputs in, CallRunner runner) {
            if (isKey(callIndex)) {
                encoder.clear();
                outputs.clear();
                keyNow = true;
                try {
                    label = "key";
                    return runner.forward(in);
                } finally {
                    keyNow = false;
                }
            }
            String key = "out." + callIndex;
            if (outputs.contains(key)) {
                label = "";
                runner.servedFromBatch(batchStart, batchSize);
                return outputs.removeOwned(key);
            }
            if (encoder.refusedSome() || encoder.size() < encoderNodes.size()) {
                label = "full (cache refused)";
                return runner.forward(in);
            }
            int n = 1;
            while (callIndex + n < total && n < group && !isKey(callIndex + n)) n++;
            Tensor out;
            tileNow = n;
            batchStart = callIndex;
            batchSize = n;
            try (Batched b = batched(in, callIndex, n, runner.workspace().allocator())) {
                out = runner.forward(b.inputs);
            } finally {
                tileNow = 0;
            }
            try {
                long batch = out.dim(0) / n;
                for (int i = 1; i < n; i++) {
                    outputs.putOwned("out." + (callIndex + i), out.narrow(0, i * batch, batch).copy(runner.workspace().allocator()));
                }
                label = "decode x" + n;
                return out.narrow(0, 0, batch).copy(runner.workspace().allocator());
            } finally {
                out.close();
            }
        }

        @Override
        public LatentHook latentHook() {
            return prior;
        }

        @Override
        public void beginCall(int callIndex, UNetInputs in) {
            label = "";
        }

        @Override
        public Tensor intercept(NodeCall call, int callIndex) {
            if (!encoderNodes.contains(call.path())) return call.proceed();
            if (keyNow) {
                return encoder.keep(call.path(), call, call.proceed());
            }
            if (tileNow > 0) return Batches.tile(call.workspace().allocator(), encoder.get(call.path()), tileNow);
            return call.proceed();
        }

        @Override
        public String label(int callIndex) {
            return prior == null ? label : prior.label(callIndex, label);
        }

        @Override
        public long bytesHeld() {
            return encoder.bytes() + outputs.bytes();
        }

        @Override
        public void close() {
            encoder.close();
            outputs.close();
        }

        private Batched batched(UNetInputs in, int first, int n, dev.unet4j.core.tensor.Allocator allocator) {
            int batch = (int) in.sample().dim(0);
            double[] ts = new double[batch * n];
            for (int i = 0; i < n; i++) Arrays.fill(ts, i * batch, (i + 1) * batch, timesteps[first + i]);
            Timestep.Type type = switch (in.timestep().type()) {
                case PYTHON_INT -> Timestep.Type.INT64;
                case PYTHON_FLOAT -> Timestep.Type.FLOAT64;
                default -> in.timestep().type();
            };
            if (in.downBlockAdditionalResiduals() != null) {
                throw new UnsupportedOperationException("parallel encoder propagation with ControlNet residuals");
            }
            return new Batched(in, n, new Timestep(ts, type), allocator);
        }
    }

    /** The inputs of a batched decode: every conditioning tensor tiled {@code n} times. */
    private static final class Batched implements AutoCloseable {
        final UNetInputs inputs;
        private final List<Tensor> owned;

        Batched(UNetInputs in, int n, Timestep ts, dev.unet4j.core.tensor.Allocator a) {
            Tensor sample = tile(in.sample(), n, a), ehs = tile(in.encoderHiddenStates(), n, a);
            Tensor mask = tile(in.encoderAttentionMask(), n, a), labels = tile(in.classLabels(), n, a);
            Tensor cond = tile(in.timestepCond(), n, a), text = tile(in.textEmbeds(), n, a), ids = tile(in.timeIds(), n, a);
            owned = java.util.stream.Stream.of(sample, ehs, mask, labels, cond, text, ids).filter(java.util.Objects::nonNull).toList();
            UNetInputs.Builder b = UNetInputs.builder(sample, ts).encoderHiddenStates(ehs).encoderAttentionMask(mask)
                    .classLabels(labels).timestepCond(cond);
            if (text != null || ids != null) b.addedCond(text, ids);
            inputs = b.build();
        }

        private static Tensor tile(Tensor t, int n, dev.unet4j.core.tensor.Allocator a) {
            return t == null ? null : Batches.tile(a, t, n);
        }

        @Override
        public void close() {
            for (Tensor t : owned) t.close();
        }
    }
}
