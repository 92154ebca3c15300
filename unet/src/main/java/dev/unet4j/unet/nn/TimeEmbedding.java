package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeKind;
import dev.unet4j.unet.NodeLevel;

/** {@code time_embedding}: the timestep MLP over {@code time_proj}'s output (plus {@code timestep_cond}). */
public final class TimeEmbedding extends Node {
    private final TimestepMlp mlp;

    public TimeEmbedding(VarBuilder vb, int in, int dim, Activation act, Activation postAct, Integer condProjDim) {
        super(vb.path(), NodeLevel.STEM, NodeKind.TIME_EMBEDDING);
        mlp = new TimestepMlp(vb, in, dim, act, postAct, condProjDim);
    }

    @Override
    protected Tensor forward(Pass p, Tensor tProj) {
        return mlp.forward(p, tProj, p.timestepCond);   // [B, temb]
    }
}
