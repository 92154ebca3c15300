package dev.unet4j.unet.nn;

import dev.unet4j.core.kernels.Conv2dSpec;
import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.AttentionInfo;
import dev.unet4j.unet.LayerFactory;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NormInfo;
import dev.unet4j.unet.ParameterSource;
import dev.unet4j.unet.UNetInputs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The UNet as a tree of named nodes, built from a {@link GraphSpec}, and the driver that runs it in three parts:
 * {@link #embed} (time + class embedding), {@link #encode} (conv_in, down blocks pushing the skip stack, mid block) and
 * {@link #decode} (up blocks popping it, output layers). Immutable; all per-call state lives in the {@link Pass}.
 */
public final class UNetGraph implements AutoCloseable {
    private final GraphSpec spec;
    private final TimeProjection timeProj;
    private final TimeEmbedding timeEmbedding;
    private final ClassEmbedding classEmbedding;
    private final AddedEmbedding addedEmbedding;
    private final ConvNode convIn, convOut;
    private final List<DownBlock> down = new ArrayList<>();
    private final MidBlock mid;
    private final List<UpBlock> up = new ArrayList<>();
    private final NormOut normOut;
    private final Weights.Resources resources;
    private final List<String> topLevel = new ArrayList<>();
    private final int skipCount;

    private UNetGraph(GraphSpec s, Weights w) {
        this.spec = s;
        VarBuilder vb = w.root();
        int c0 = s.blockOutChannels()[0];
        convIn = new ConvNode(vb.pp("conv_in"), NodeKind.CONV_IN, Conv2dSpec.of(s.inChannels(), c0, s.convInKernel(), 1, (s.convInKernel() - 1) / 2));
        timeProj = new TimeProjection(vb.pp("time_proj"), s.timeProj());
        timeEmbedding = new TimeEmbedding(vb.pp("time_embedding"), s.timeProj().outDim(), s.tembDim(), s.timeAct(), s.timePostAct(), s.condProjDim());
        classEmbedding = s.classEmbedding() == null ? null : new ClassEmbedding(vb.pp("class_embedding"), s.classEmbedding(), s.tembDim(), timeProj);
        addedEmbedding = s.addedEmbedding() == null ? null : new AddedEmbedding(vb.pp("add_embedding"), s.addedEmbedding(), s.tembDim());
        int skips = 1;
        for (int i = 0; i < s.down().size(); i++) {
            BlockSpec b = s.down().get(i);
            down.add(new DownBlock(vb.pp("down_blocks").pp(i), b, s.resnet()));
            skips += b.numLayers() + (b.addResample() ? 1 : 0);
        }
        skipCount = skips;
        GraphSpec.MidSpec m = s.mid();
        int cLast = s.blockOutChannels()[s.blockOutChannels().length - 1];
        mid = m == null ? null : new MidBlock(vb.pp("mid_block"), cLast, m.numLayers(), m.attention(), m.scale(), s.resnet());
        for (int i = 0; i < s.up().size(); i++) up.add(new UpBlock(vb.pp("up_blocks").pp(i), s.up().get(i), s.resnet()));
        normOut = new NormOut(vb.pp("conv_norm_out"), s.normOutGroups(), c0, s.normOutEps());
        convOut = new ConvNode(vb.pp("conv_out"), NodeKind.CONV_OUT, Conv2dSpec.of(c0, s.outChannels(), s.convOutKernel(), 1, (s.convOutKernel() - 1) / 2));
        resources = w.finish();
        topLevel.add(timeEmbedding.path());
        if (classEmbedding != null) topLevel.add(classEmbedding.path());
        if (addedEmbedding != null) topLevel.add(addedEmbedding.path());
        topLevel.add(convIn.path());
        for (DownBlock d : down) topLevel.add(d.path());
        if (mid != null) topLevel.add(mid.path());
        for (UpBlock u : up) topLevel.add(u.path());
        topLevel.add(normOut.path());
        topLevel.add(convOut.path());
    }

    /** Builds the graph, reading every parameter from {@code source}; one exception lists every weight problem. */
    public static UNetGraph build(GraphSpec spec, ParameterSource source, String sourceName, LayerFactory factory) {
        return new Weights(source, sourceName, factory).build(w -> new UNetGraph(spec, w));
    }

    public GraphSpec spec() {
        return spec;
    }

    public List<NormInfo> norms() {
        return resources.norms();
    }

    public List<AttentionInfo> attentions() {
        return resources.attentions();
    }

    public long parameters() {
        return resources.parameters();
    }

    /** Paths whose costs make up a whole call. */
    public List<String> topLevelPaths() {
        return List.copyOf(topLevel);
    }

    /** Number of tensors the down path pushes. */
    public int skipCount() {
        return skipCount;
    }

    /** Every node, parents before children, in running order. */
    public List<Node> nodes() {
        List<Node> out = new ArrayList<>();
        List<Node> roots = new ArrayList<>(List.of(timeProj, timeEmbedding));
        if (classEmbedding != null) roots.add(classEmbedding);
        if (addedEmbedding != null) roots.add(addedEmbedding);
        roots.add(convIn);
        roots.addAll(down);
        if (mid != null) roots.add(mid);
        roots.addAll(up);
        roots.add(normOut);
        roots.add(convOut);
        for (Node r : roots) walk(r, out);
        return out;
    }

    private static void walk(Node n, List<Node> out) {
        out.add(n);
        for (Node c : n.children()) walk(c, out);
    }

    // ------------------------------------------------------------------ input checks

    /** Checks the conditioning inputs for a batch of {@code batch}; the sample too when {@code sample} is true. */
    public void validate(UNetInputs in, int batch, boolean sample) {
        String m = spec.modelClass();
        if (sample) {
            Tensor x = in.sample();
            if (x == null) throw new IllegalArgumentException(m + ": sample is required");
            if (x.rank() != 4) throw new IllegalArgumentException(m + ": sample must be [B, C, H, W], got " + x);
            if (x.dim(0) < 1 || x.dim(2) < 1 || x.dim(3) < 1) throw new IllegalArgumentException(m + ": sample " + x + " is empty");
            if (x.dim(1) != spec.inChannels()) {
                throw new IllegalArgumentException(m + ": sample has " + x.dim(1) + " channels, the model takes " + spec.inChannels());
            }
            if (!spec.forwardsUpsampleSize()) {
                int f = 1;
                for (BlockSpec b : spec.down()) if (b.addResample()) f *= 2;
                if (x.dim(2) % f != 0 || x.dim(3) % f != 0) {
                    throw new IllegalArgumentException(m + ": sample size " + x.dim(2) + "x" + x.dim(3) + " is not divisible by " + f
                            + "; diffusers' " + m + " cannot concatenate the skips of such sizes");
                }
            }
        }
        in.timestep().resolve(batch, spec.timestepRule()); // count check
        Tensor ehs = in.encoderHiddenStates();
        if (spec.crossAttentionDim() != 0) {
            if (ehs == null) throw new IllegalArgumentException(m + ": encoder_hidden_states [B, T, " + spec.crossAttentionDim() + "] are required");
            if (ehs.rank() != 3) throw new IllegalArgumentException(m + ": encoder_hidden_states must be [B, T, D], got " + ehs);
            if (ehs.dim(1) < 1) {
                throw new IllegalArgumentException(m + ": encoder_hidden_states " + ehs + " has no tokens; cross-attention needs at least one");
            }
            if (ehs.dim(0) != batch) throw new IllegalArgumentException(m + ": encoder_hidden_states batch " + ehs.dim(0) + " != sample batch " + batch);
            if (spec.crossAttentionDim() > 0 && ehs.dim(2) != spec.crossAttentionDim()) {
                throw new IllegalArgumentException(m + ": encoder_hidden_states width " + ehs.dim(2) + " != cross_attention_dim " + spec.crossAttentionDim());
            }
        }
        Tensor mask = in.encoderAttentionMask();
        if (mask != null) {
            if (ehs == null) throw new IllegalArgumentException(m + ": encoder_attention_mask given without encoder_hidden_states");
            if (mask.rank() != 2 || mask.dim(0) != batch || mask.dim(1) != ehs.dim(1)) {
                throw new IllegalArgumentException(m + ": encoder_attention_mask must be [" + batch + ", " + ehs.dim(1) + "], got " + mask);
            }
        }
        Tensor labels = in.classLabels();
        if (classEmbedding != null) {
            if (labels == null) throw new IllegalArgumentException(m + ": class_labels are required (the model has a class embedding)");
            int width = classEmbedding.labelWidth();
            boolean ok = width == 0 ? labels.rank() == 1 && labels.dim(0) == batch
                    : labels.rank() == 2 && labels.dim(0) == batch && labels.dim(1) == width;
            if (!ok) throw new IllegalArgumentException(m + ": class_labels must be " + (width == 0 ? "[" + batch + "]" : "[" + batch + ", " + width + "]") + ", got " + labels);
        } else if (labels != null && spec.classLabelsWithoutEmbedding()) {
            throw new IllegalArgumentException(m + ": class_labels given but the model has no class embedding");
        }
        if (addedEmbedding != null) {
            Tensor text = in.textEmbeds(), ids = in.timeIds();
            if (text == null || ids == null) throw new IllegalArgumentException(m + ": addition_embed_type text_time requires text_embeds and time_ids");
            if (text.rank() != 2 || ids.rank() != 2 || text.dim(0) != batch || ids.dim(0) != batch
                    || text.dim(1) + ids.dim(1) * spec.addedEmbedding().timeDim() != spec.addedEmbedding().inDim()) {
                throw new IllegalArgumentException(m + ": text_embeds " + text + " and time_ids " + ids + " must be [" + batch
                        + ", D] and [" + batch + ", n] with D + n * " + spec.addedEmbedding().timeDim() + " = " + spec.addedEmbedding().inDim());
            }
        }
        if (in.timestepCond() != null && spec.condProjDim() == null) {
            throw new IllegalArgumentException(m + ": timestep_cond given but the model has no time_cond_proj_dim");
        }
        boolean hasDown = in.downBlockAdditionalResiduals() != null, hasMid = in.midBlockAdditionalResidual() != null;
        if (hasDown != hasMid) throw new IllegalArgumentException(m + ": ControlNet residuals need both down_block_additional_residuals and mid_block_additional_residual");
        if (hasDown && in.downBlockAdditionalResiduals().size() != skipCount) {
            throw new IllegalArgumentException(m + ": " + in.downBlockAdditionalResiduals().size() + " down_block_additional_residuals, expected " + skipCount);
        }
    }

    // ------------------------------------------------------------------ running

    /** Sets the pass's conditioning (encoder states, mask bias, timestep_cond); returns the mask bias to close, or null. */
    public Tensor condition(Pass p, UNetInputs in) {
        p.context = in.encoderHiddenStates();
        p.timestepCond = in.timestepCond();
        Tensor mask = in.encoderAttentionMask();
        p.contextBias = null;
        if (mask == null) return null;
        float[] m = mask.toFloatArray();
        for (int i = 0; i < m.length; i++) m[i] = (1f - m[i]) * -10000f;   // diffusers: (1 - mask) * -10000.0
        Tensor bias = Tensor.allocate(p.ws.allocator(), mask.dim(0), mask.dim(1));
        bias.setFrom(m);
        p.contextBias = bias;
        return bias;
    }

    /**
     * time_proj -> time_embedding (+ class_embedding) (+ add_embedding) (-> time_embedding_act); the result is owned by
     * the caller.
     */
    public Tensor embed(Pass p, UNetInputs in, int batch) {
        double[] ts = in.timestep().resolve(batch, spec.timestepRule());
        Tensor emb;
        try (Tensor t = Tensor.allocate(p.ws.allocator(), batch)) {         // [B] float32, as torch's t.float()
            float[] f = new float[batch];
            for (int i = 0; i < batch; i++) f[i] = (float) ts[i];
            t.setFrom(f);
            Tensor proj = timeProj.apply(p, t);                                // [B, proj]
            try {
                emb = timeEmbedding.apply(p, proj);                            // [B, temb]
            } finally {
                p.release(proj);
            }
        }
        if (classEmbedding != null) {
            Tensor c = classEmbedding.apply(p, in.classLabels());              // [B, temb]
            Tensor sum = p.k.add(p.ws, emb, c, 1f, 1f);
            p.release(c);
            p.release(emb);
            emb = sum;
        }
        if (addedEmbedding != null) {
            Tensor aug;
            try (Tensor addEmbeds = addedEmbedding.addEmbeds(p, in.textEmbeds(), in.timeIds())) {
                aug = addedEmbedding.apply(p, addEmbeds);                      // [B, temb]
            }
            Tensor sum = p.k.add(p.ws, emb, aug, 1f, 1f);
            p.release(aug);
            p.release(emb);
            emb = sum;
        }
        if (spec.tembFinalAct() != null) {
            Tensor a = spec.tembFinalAct().apply(p, emb);
            p.release(emb);
            emb = a;
        }
        return emb;
    }

    /**
     * conv_in, the down blocks (pushing {@code p.skips}) and the mid block, then ControlNet residuals. Returns the mid
     * output (owned); the skips stay on the pass's stack.
     */
    public Tensor encode(Pass p, UNetInputs in) {
        Tensor x = in.sample();                                                // [B, Cin, H, W]
        Tensor centered = null;
        if (spec.centerInput()) {
            try (Tensor one = Tensor.allocate(p.ws.allocator(), 1)) {
                one.fill(1f);
                centered = p.k.add(p.ws, x, one, 2f, -1f);                     // 2 * sample - 1
            }
            x = centered;
        }
        Tensor h = convIn.apply(p, x);                                         // [B, C0, H, W]
        if (centered != null) centered.close();
        p.skips.push(h, convIn.path());
        for (DownBlock d : down) {
            Tensor next = d.apply(p, h);                                       // [B, Ci, H/2^i, W/2^i]
            p.release(h);
            h = next;
        }
        Tensor out;
        if (mid != null) {
            out = mid.apply(p, h);                                             // [B, Clast, h, w]
            p.release(h);
        } else {
            out = p.shared(h) ? p.copyOf(h) : h;
            if (out != h) p.release(h);
        }
        if (in.downBlockAdditionalResiduals() != null) {
            List<Tensor> res = in.downBlockAdditionalResiduals();
            for (int i = 0; i < skipCount; i++) {
                Tensor s = p.skips.get(i);
                if (!Arrays.equals(s.shape(), res.get(i).shape())) {
                    throw new IllegalArgumentException(spec.modelClass() + ": down_block_additional_residuals[" + i + "] is "
                            + res.get(i) + ", skip." + i + " is " + s);
                }
                p.skips.replace(i, p.k.add(p.ws, s, res.get(i), 1f, 1f));
            }
            Tensor sum = p.k.add(p.ws, out, in.midBlockAdditionalResidual(), 1f, 1f);
            p.release(out);
            out = sum;
        }
        return out;
    }

    /** The up blocks from {@code midOut} (borrowed) and the skips on {@code p.skips}, then the output layers. */
    public Tensor decode(Pass p, Tensor midOut, UNetInputs in, int batch) {
        Tensor h = midOut;
        boolean owned = false;
        for (UpBlock u : up) {
            int below = p.skips.size() - u.pops() - 1;                          // the skip after this block's
            if (below >= 0) {
                Tensor next = p.skips.get(below);
                p.upsampleSize = new int[]{(int) next.dim(2), (int) next.dim(3)};
            } else {
                p.upsampleSize = null;
            }
            Tensor n = u.apply(p, h);                                          // [B, Ci, 2h, 2w]
            if (owned) p.release(h);
            h = n;
            owned = true;
        }
        p.upsampleSize = null;
        Tensor normed = normOut.apply(p, h);                                   // [B, C0, H, W]
        if (owned) p.release(h);
        Tensor act = spec.convAct().apply(p, normed);
        p.release(normed);
        Tensor out = convOut.apply(p, act);                                    // [B, Cout, H, W]
        act.close();
        if (spec.divideByTimestep()) {
            double[] ts = in.timestep().resolve(batch, spec.timestepRule());
            try (Tensor inv = Tensor.allocate(p.ws.allocator(), batch, 1, 1, 1)) {
                float[] f = new float[batch];
                for (int i = 0; i < batch; i++) f[i] = 1f / (float) ts[i];    // sample / timesteps, as a product
                inv.setFrom(f);
                Tensor d = p.k.mul(p.ws, out, inv);
                p.release(out);
                out = d;
            }
        }
        return out;
    }

    @Override
    public void close() {
        resources.close();
    }
}
