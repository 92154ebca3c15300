package dev.unet4j.unet.nn;

import dev.unet4j.core.tensor.Tensor;
import dev.unet4j.unet.NodeLevel;

import java.util.List;

/**
 * A LAYER node that is exactly one UNIT under the same path: a UNet2DModel-style attention block
 * ({@code attentions.j}) is both a block layer and an attention unit, so interceptors working at either level see it.
 * Visited as LAYER, then inside it as UNIT.
 */
final class LayerOf extends Node {
    private final Node unit;

    LayerOf(Node unit) {
        super(unit.path(), NodeLevel.LAYER, unit.kind());
        if (unit.level() != NodeLevel.UNIT) throw new IllegalArgumentException(unit + " is not a unit");
        this.unit = unit;
    }

    @Override
    public List<Node> children() {
        return List.of(unit);
    }

    @Override
    protected Tensor forward(Pass p, Tensor x) {
        return unit.apply(p, x);
    }
}
